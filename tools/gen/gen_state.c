/* gen_state.c - DIR/gen.json: what continuing a data set needs.
 *
 * --next must write more of the same cluster: the same ring, tables and
 * replica behaviour, timestamps after every earlier one, and overwrites
 * and deletes of rows that exist.  Rows are derived from a few counters
 * (see gen_workload.c), so the arguments, the clock and those counters
 * are all the file holds. */
#include "tools/gen/gen.h"

#include <jansson.h>

static json_t *int_array(const int *v, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_integer(v[i]));
    return a;
}

strata_err gen_state_save(const char *dir, const gen_options *o, const gen_workload *w) {
    json_t *j = json_pack("{s:I, s:i, s:i, s:f, s:f, s:b, s:I, s:i, s:I, s:o, s:o}", "seed", (json_int_t)o->seed,
                          "nodes", o->nodes, "rf", o->rf, "flush_mb", o->flush_mb, "miss", o->miss, "wide", o->wide,
                          "clock",
                          (json_int_t)w->clock, "round", w->round, "users", (json_int_t)w->nusers, "sensor_day",
                          int_array(w->sensor_day, w->nsensors), "sensor_rows",
                          int_array(w->sensor_rows, w->nsensors));
    char *path = xasprintf("%s/gen.json", dir);
    int r = json_dump_file(j, path, JSON_COMPACT);
    json_decref(j);
    strata_err e = r ? strata_fail(STRATA_EIO, "%s: cannot write", path) : STRATA_OK;
    free(path);
    return e;
}

strata_err gen_state_load(const char *dir, gen_options *o, gen_workload *w) {
    char *path = xasprintf("%s/gen.json", dir);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err), *days = NULL, *rows = NULL;
    json_int_t seed = 0, clock = 0, users = 0;
    strata_err e = STRATA_OK;
    if (!j) e = strata_fail(STRATA_ENOENT, "%s: %s (not a strata-gen-cluster data set?)", path, err.text);
    else if (json_unpack_ex(j, &err, 0, "{s:I, s:i, s:i, s:F, s:F, s?b, s:I, s:i, s:I, s:o, s:o}", "seed", &seed,
                            "nodes", &o->nodes, "rf", &o->rf, "flush_mb", &o->flush_mb, "miss", &o->miss, "wide",
                            &o->wide, "clock", &clock, "round", &w->round, "users", &users, "sensor_day", &days, "sensor_rows",
                            &rows) ||
             !json_is_array(days) || json_array_size(days) != json_array_size(rows) || !json_array_size(days))
        e = strata_fail(STRATA_ECORRUPT, "%s: %s", path, err.text);
    if (!e) {
        int round = w->round;
        gen_workload_init(w, (uint64_t)seed, 0, o->wide);
        w->round = round, w->clock = clock, w->nusers = (uint64_t)users;
        w->nsensors = (int)json_array_size(days);
        w->sensor_day = xrealloc(w->sensor_day, (size_t)w->nsensors * sizeof *w->sensor_day);
        w->sensor_rows = xrealloc(w->sensor_rows, (size_t)w->nsensors * sizeof *w->sensor_rows);
        for (int i = 0; i < w->nsensors; i++) {
            w->sensor_day[i] = (int)json_integer_value(json_array_get(days, (size_t)i));
            w->sensor_rows[i] = (int)json_integer_value(json_array_get(rows, (size_t)i));
        }
        o->seed = (uint64_t)seed;
    }
    json_decref(j);
    free(path);
    return e;
}
