/* base.h - the small vocabulary every strata module shares.
 *
 * Error codes and their thread-local detail message, growable byte buffers
 * with bounds-checked little-endian decoding, hex, SHA-256, time stamps,
 * logging and the terminal progress meter.  Nothing here knows about
 * repositories or SSTables; it exists so that those modules report errors
 * and encode bytes one way only.
 */
#ifndef STRATA_BASE_H
#define STRATA_BASE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Errors ----------------------------------------------------------
 * Library functions return a strata_err.  STRATA_OK is zero; every other
 * value names a class of failure.  The function that detects a failure
 * records a one-line human description with strata_fail(); callers that
 * only pass the code upwards leave the message alone, so the message the
 * command line prints is the one written closest to the cause. */
typedef enum {
    STRATA_OK = 0,
    STRATA_EINVAL,   /* bad argument or bad user input (flags, cluster file) */
    STRATA_ENOENT,   /* something named does not exist */
    STRATA_EEXIST,   /* something to be created already exists */
    STRATA_EIO,      /* an operating system or transport call failed */
    STRATA_ENOSPC,   /* storage is full */
    STRATA_ECORRUPT, /* stored or input data fails a check */
    STRATA_EFORMAT,  /* input in a format or version strata does not read */
    STRATA_ENOMEM,   /* an allocation bound would be exceeded */
    STRATA_ELOCKED,  /* another process holds the repository */
    STRATA_EINTR,    /* interrupted by a signal */
    STRATA_ENOTREPO, /* the location holds no strata repository */
    STRATA_ERR_COUNT
} strata_err;

/* Records a formatted description of the current failure for this thread
 * and returns `code`, so call sites read `return strata_fail(...)`. */
strata_err strata_fail(strata_err code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like strata_fail() but appends ": <strerror(errnum)>". */
strata_err strata_fail_errno(strata_err code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps an errno value to the closest strata_err (ENOSPC -> STRATA_ENOSPC, ...). */
strata_err strata_err_from_errno(int errnum);

/* The last description recorded on this thread, or the generic text of
 * the last code when none was recorded. Never NULL. */
const char *strata_errmsg(void);

/* Generic text for a code ("corrupt data", ...). */
const char *strata_strerror(strata_err code);

/* Forgets the recorded description (used before an operation whose
 * failure may legitimately be retried). */
void strata_clear_error(void);

/* ---- Memory -----------------------------------------------------------
 * Out-of-memory is not a recoverable condition for a backup tool (the
 * repository stays consistent because objects are published atomically),
 * so these abort with a message instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* A private anonymous read-write mapping of `n` bytes (mmap(2) `flags`
 * added, e.g. MAP_POPULATE), for buffers that must go back to the kernel
 * when unmapped rather than stay in the allocator's heap. */
void *xmmap_anonymous(size_t n, int flags);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether `s` ends with `suffix` (file names: "-Data.db", ".tmp"). */
int strata_ends_with(const char *s, const char *suffix);

/* ---- Byte buffers -----------------------------------------------------
 * strata_buf is a growable output buffer; all integers are written little
 * endian.  strata_reader decodes such bytes and never reads past its end:
 * a short or malformed input sets `failed` and every later read returns
 * zeroes, so decoders check once at the end. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} strata_buf;

void strata_buf_init(strata_buf *b);
void strata_buf_free(strata_buf *b);
void strata_buf_reserve(strata_buf *b, size_t extra);
/* Inline: callers such as the row streams' split append a few bytes at a
 * time, where a call costs as much as the copy. */
static inline void strata_buf_put(strata_buf *b, const void *p, size_t n) {
    if (!n) return;
    if (b->cap - b->len < n) strata_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}
void strata_buf_put_u8(strata_buf *b, uint8_t v);
void strata_buf_put_u32(strata_buf *b, uint32_t v);
void strata_buf_put_u64(strata_buf *b, uint64_t v);
void strata_buf_put_varint(strata_buf *b, uint64_t v);
/* A signed integer as the varint of its zigzag form ((v << 1) ^ (v >> 63)),
 * so that small negative numbers stay short. */
void strata_buf_put_zigzag(strata_buf *b, int64_t v);
/* A string as varint length + bytes (no terminator). */
void strata_buf_put_str(strata_buf *b, const char *s);

typedef struct {
    const uint8_t *p;
    size_t left;
    int failed;
} strata_reader;

void strata_reader_init(strata_reader *r, const void *p, size_t n);
/* Copies n bytes into out: 0, or -1 (out zeroed) when fewer are left. */
int strata_read(strata_reader *r, void *out, size_t n);
uint8_t strata_read_u8(strata_reader *r);
uint32_t strata_read_u32(strata_reader *r);
uint64_t strata_read_u64(strata_reader *r);
uint64_t strata_read_varint(strata_reader *r);
int64_t strata_read_zigzag(strata_reader *r);
/* Returns a newly allocated NUL-terminated copy; strings longer than
 * `max` fail the reader (bounded allocation on corrupt input). */
char *strata_read_str(strata_reader *r, size_t max);
/* Points into the input without copying; NULL and failed when short. */
const uint8_t *strata_read_ptr(strata_reader *r, size_t n);

/* ---- Hex and hashing -------------------------------------------------- */
#define STRATA_HASH_LEN 32

/* Writes 2n lowercase hex digits and a NUL into out. */
void strata_hex(const uint8_t *bytes, size_t n, char *out);
/* Parses exactly 2n hex digits; returns 0 on success, -1 otherwise. */
int strata_unhex(const char *hex, uint8_t *out, size_t n);

/* SHA-256 of n bytes: the id of every chunk and the check of every object. */
void strata_sha256(const void *data, size_t n, uint8_t out[STRATA_HASH_LEN]);

/* CRC32 as zlib computes it (crc is the value so far, 0 to start), with
 * ISA-L's carry-less multiply where the CPU has it: SSTables carry one on
 * every chunk, and reading and writing them checksum every byte. */
uint32_t strata_crc32(uint32_t crc, const void *data, size_t n);

typedef struct strata_sha256_ctx strata_sha256_ctx;
strata_sha256_ctx *strata_sha256_new(void);
void strata_sha256_update(strata_sha256_ctx *c, const void *data, size_t n);
/* Finishes, writes the digest and frees the context. */
void strata_sha256_final(strata_sha256_ctx *c, uint8_t out[STRATA_HASH_LEN]);

/* ---- Time -------------------------------------------------------------- */
/* Microseconds since the Unix epoch (wall clock). */
int64_t strata_now_us(void);
/* Monotonic seconds, for rates and timeouts. */
double strata_mono_s(void);

/* Sleeps `seconds` (a fraction allowed); a signal may end it early. */
void strata_sleep_s(double seconds);
/* "2026-11-21T22:30:55Z" from seconds since the epoch (UTC); out >= 21 bytes. */
void strata_iso8601(int64_t epoch_s, char out[32]);
/* The same from microseconds, with the fraction of a second when there is
 * one ("2026-11-21T22:30:55.550666Z"); out >= 28 bytes. */
void strata_iso8601_us(int64_t epoch_us, char out[32]);
/* Parses the form above, with an optional fraction of a second of 1 to 6
 * digits ("2026-11-21T22:30:55.550666Z"); returns 0 and sets *epoch_us to
 * microseconds since the epoch, or -1. */
int strata_parse_iso8601_us(const char *s, int64_t *epoch_us);
/* Seconds since the epoch, up to 12 digits, with the same optional
 * fraction ("1795303196.550666"), as microseconds; 0 or -1. */
int strata_parse_seconds_us(const char *s, int64_t *epoch_us);

/* ---- Fault guard (guard.c) ------------------------------------------------
 * Mapped memory faults where a read would fail: LMDB's pages when the index
 * is garbled, a mapped pack cut short or on a failing disk.  A reader of
 * such memory guards itself:
 *     sigjmp_buf guard, *outer = strata_guard_current();
 *     if (sigsetjmp(guard, 0)) { strata_guard_set(outer); return <fault>; }
 *     strata_guard_set(&guard);  <read>  strata_guard_set(outer);
 * A SIGSEGV or SIGBUS the kernel raises on this thread while a guard is set
 * jumps back to it; any other ends the process as it would have.  What runs
 * under a guard may be abandoned midway, so it must not take locks or hold
 * memory only it would free. */
sigjmp_buf *strata_guard_current(void);
/* Sets this thread's guard (NULL: none); installs the handler the first time. */
void strata_guard_set(sigjmp_buf *guard);
/* Jumps to this thread's guard, if one is set (for checks that are not
 * faults, such as LMDB's assertions). */
void strata_guard_escape(void);

/* ---- Logging ------------------------------------------------------------
 * One line to stderr, prefixed "strata: ".  STRATA_LOG_DEBUG lines appear
 * only when STRATA_DEBUG is set in the environment. */
typedef enum { STRATA_LOG_DEBUG, STRATA_LOG_INFO, STRATA_LOG_WARN, STRATA_LOG_ERROR } strata_log_level;
void strata_log(strata_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Suppresses INFO lines and the progress meter (the command line's --quiet). */
void strata_log_set_quiet(int quiet);

/* ---- Files --------------------------------------------------------------
 * Writes all `len` bytes (write(2) may take fewer at a time); an error
 * names `path` ("writing PATH: ..."), with the code its errno maps to. */
strata_err strata_write_all(int fd, const void *data, size_t len, const char *path);
/* Reads len bytes at offset, fewer (*got) only at the end of the file. */
strata_err strata_pread_all(int fd, void *buf, size_t len, uint64_t offset, size_t *got);

/* ---- Threads --------------------------------------------------------------
 * Runs fn(arg) on `threads` threads at once (clamped to 1..64; <= 0 means
 * one per CPU) and returns when all have returned.  Should no thread start,
 * fn runs on the caller's thread, so the work is always done. */
void strata_run_parallel(int threads, void *(*fn)(void *), void *arg);

/* ---- Progress -------------------------------------------------------------
 * A meter for long work: bytes done of a total, rate and ETA, redrawn at
 * most a few times a second on stderr when stderr is a terminal, silent
 * otherwise and when quiet (strata_log_set_quiet).  Thread-safe: workers
 * add bytes concurrently. */
typedef struct strata_progress strata_progress;
strata_progress *strata_progress_new(const char *label, uint64_t total_bytes);
void strata_progress_add(strata_progress *p, uint64_t bytes);
/* Clears the meter line and frees it; NULL is allowed. */
void strata_progress_done(strata_progress *p);

/* Formats a byte count as "1.5 GiB" into out (>= 16 bytes). */
void strata_human_bytes(uint64_t n, char out[16]);

#endif
