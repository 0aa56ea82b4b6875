/* cmd_mount.c - `strata mount`: the repository as a read-only file system. */
#include <getopt.h>
#include <string.h>

#include "fs/mount.h"
#include "tools/cli.h"

static void help(void) {
    printf("usage: strata -r REPO mount [-f] [--cache-size SIZE] [--disk-cache-size SIZE]\n"
           "                            [--log FILE] [--allow-other] [--debug] MOUNTPOINT\n"
           "\n"
           "Shows every version as directories of native SSTables (FUSE, read-only):\n"
           "\n"
           "  /versions/<version>/<keyspace>/<table>/   the table's reconciled SSTables\n"
           "                                            (its layers, numbered so none\n"
           "                                            clash) and schema.cql: copy it\n"
           "                                            into one node's table directory,\n"
           "                                            or give it to sstableloader; a\n"
           "                                            version taken with --files shows\n"
           "                                            every node's SSTables, renumbered\n"
           "  /versions/latest                          the newest version\n"
           "  /nodes/<node>/<version>/<keyspace>/<table>/  one node's files, original\n"
           "                                            names (versions that kept them:\n"
           "                                            backup --keep-replicas or --files)\n"
           "\n"
           "MOUNTPOINT is an empty directory.  Without -f the command returns once\n"
           "the mount is ready and the mount keeps running in the background.\n"
           "Unmount with 'fusermount3 -u MOUNTPOINT' (or Ctrl-C / SIGTERM to a\n"
           "foreground mount).  Versions backed up while mounted appear without\n"
           "remounting (from another machine, into an s3:// repository, within 10\n"
           "seconds).\n"
           "\n"
           "  -f, --foreground   stay in the foreground\n"
           "  --cache-size SIZE  memory for decompressed chunks (default 128M; K, M, G);\n"
           "                     an s3:// mount also reads ahead into up to 64M more\n"
           "  --disk-cache-size SIZE\n"
           "                     for a remote (s3://) repository, chunks kept on local\n"
           "                     disk beside the index so reading them again transfers\n"
           "                     nothing (default 1G; 0 disables)\n"
           "  --log FILE         append a background mount's log lines to FILE\n"
           "  --allow-other      let other users read the mount (needs user_allow_other\n"
           "                     in /etc/fuse.conf unless root)\n"
           "  --debug            trace every FUSE request on stderr (implies -f)\n"
           "\n"
           "example:\n"
           "  strata -r /backup/strata mount /mnt/strata\n"
           "  sstableloader -d 10.0.0.1 /mnt/strata/versions/latest/app/users\n"
           "  fusermount3 -u /mnt/strata\n");
}

/* "256M", "2G", "1048576" -> bytes; 0 on a malformed or zero size. */
static uint64_t parse_size(const char *s) {
    char *end;
    if (*s < '0' || *s > '9') return 0; /* strtoull would take "-5" as a huge size */
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B') end += *end == 'i' && end[1] == 'B' ? 2 : 1;
    if (end == s || *end || v > (UINT64_MAX >> shift)) return 0;
    return (uint64_t)v << shift;
}

int cmd_mount(const cli_globals *g, int argc, char **argv) {
    static const struct option opts[] = {
        {"foreground", no_argument, NULL, 'f'}, {"cache-size", required_argument, NULL, 'c'},
        {"disk-cache-size", required_argument, NULL, 'D'},
        {"log", required_argument, NULL, 'l'},  {"allow-other", no_argument, NULL, 'a'},
        {"debug", no_argument, NULL, 'd'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    mount_options o = {0};
    int c;
    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': o.foreground = 1; break;
        case 'c':
            o.cache_bytes = parse_size(optarg);
            if (o.cache_bytes < (16u << 20))
                return cli_usage_error("mount", "--cache-size wants a size of at least 16M, not '%s'", optarg);
            break;
        case 'D':
            o.disk_cache_bytes = strcmp(optarg, "0") ? parse_size(optarg) : UINT64_MAX;
            if (!o.disk_cache_bytes)
                return cli_usage_error("mount", "--disk-cache-size wants a size such as 2G, not '%s'", optarg);
            break;
        case 'l': o.log_path = optarg; break;
        case 'a': o.allow_other = 1; break;
        case 'd': o.debug = o.foreground = 1; break;
        case 'h': help(); return CLI_EXIT_OK;
        default: return cli_bad_option("mount", argv);
        }
    }
    if (optind + 1 != argc) return cli_usage_error("mount", "expects one MOUNTPOINT");
    o.mountpoint = argv[optind];
    const char *location = cli_repo(g, "mount");
    if (!location) return CLI_EXIT_USAGE;
    return mount_run(location, &o) ? cli_fail() : CLI_EXIT_OK;
}
