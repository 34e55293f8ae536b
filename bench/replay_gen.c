/*
 * replay_gen.c - data generator and read peer for bench/replay.sh.
 *
 *   replay_gen gen LOGDIR EVENTS [ARTS_PER_SCAN] [FEATURES]
 *       Fill a fresh log with about EVENTS events the way `dossier scan`
 *       writes them: scan runs of ARTS_PER_SCAN (default 1000) artifact_indexed
 *       events over FEATURES (default 20) features, batches of 16384 events,
 *       dossier_scan_completed in each run's last batch.  Each rescan of a
 *       feature edits ~1% of its files, every 10th misses a required artifact,
 *       and every feature gets a baseline accepted after its first scan, so
 *       both projections do real work (new sets, drift diffs).  Ends with a
 *       catch-up (derived events appended) and prints its rate.
 *   replay_gen read LOGDIR
 *       The peer: iterate and decode every event (dsr_record_decode) with no
 *       projection work -- the floor under any replay.
 * Deterministic for given arguments (fixed PRNG seed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "dossier/emit.h"
#include "dossier/log.h"
#include "dossier/replay.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(const char *what, const dsr_err *err)
{
    fprintf(stderr, "replay_gen: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static void hash_of(unsigned f, unsigned a, unsigned version, char out[65])
{
    char text[64];
    int n = snprintf(text, sizeof text, "feature %u artifact %u version %u", f, a, version);
    unsigned char md[32];
    unsigned int mdlen;
    EVP_Digest(text, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = d[md[i] >> 4];
        out[2 * i + 1] = d[md[i] & 15];
    }
    out[64] = '\0';
}

typedef struct gen {
    dsr_log       *log;
    dsr_log_batch *b;
    uint64_t       emitted;
} gen;

static void ensure_batch(gen *g)
{
    dsr_err err = { 0 };
    if (g->b && dsr_log_batch_events(g->b) >= 16384) {
        if (dsr_log_batch_commit(g->b, &err))
            die("commit", &err);
        g->b = NULL;
    }
    if (!g->b && dsr_log_batch_begin(g->log, &g->b, &err))
        die("batch", &err);
}

static void flush(gen *g)
{
    dsr_err err = { 0 };
    if (g->b && dsr_log_batch_commit(g->b, &err))
        die("commit", &err);
    g->b = NULL;
}

static void scan_run(gen *g, unsigned f, unsigned arts, unsigned *versions, int miss)
{
    dsr_err err = { 0 };
    char run[27], feature[32], key[64], path[64], h[65];
    snprintf(feature, sizeof feature, "bench-%03u", f);
    if (dsr_ulid_new(dsr_log_ulid_gen(g->log), run))
        die("ulid", NULL);
    dsr_emit_meta m = { run, NULL, NULL, NULL };
    int64_t indexed = 0;
    for (unsigned a = 0; a < arts; a++) {
        if (miss && a == 0)
            continue;   /* the first required artifact is missing this time */
        snprintf(path, sizeof path, "area%u/d%u/file%u.md", a % 7, a % 31, a);
        snprintf(key, sizeof key, a < 5 ? "required.%u" : "path:%s", a < 5 ? a : 0);
        if (a >= 5)
            snprintf(key, sizeof key, "path:%s", path);
        hash_of(f, a, versions[a], h);
        dsr_artifact_indexed p = { feature, key, a < 5 ? "input" : "evidence", path, h,
                                   (int64_t)(100 + a), NULL, NULL,
                                   a < 5 ? "required" : "optional" };
        ensure_batch(g);
        if (dsr_emit_artifact_indexed(g->b, &p, &m, NULL, &err))
            die("emit indexed", &err);
        indexed++;
    }
    ensure_batch(g);
    if (miss) {
        dsr_artifact_missing p = { feature, "required.0", "input", "area0/d0/file0.md",
                                   "not_found", NULL, 1 };
        if (dsr_emit_artifact_missing(g->b, &p, &m, NULL, &err))
            die("emit missing", &err);
    }
    dsr_scan_completed c = { feature, "software-dev", "1", NULL, "main", "full", indexed,
                             miss ? 1 : 0, 0, 2, NULL, NULL, NULL, NULL, 0 };
    if (dsr_emit_scan_completed(g->b, &c, &m, NULL, &err))
        die("emit completed", &err);
    flush(g);   /* the run's last batch carries its completion */
    g->emitted += (uint64_t)indexed + (miss ? 2 : 1);
}

static void accept_baseline(gen *g, unsigned f)
{
    dsr_err err = { 0 };
    char feature[32];
    snprintf(feature, sizeof feature, "bench-%03u", f);
    dsr_snapshot_info *s = NULL;
    if (dsr_replay_snapshot_get(g->log, feature, NULL, 0, &s, &err))
        die("snapshot", &err);
    dsr_baseline_accepted p = { feature, s->snapshot_id, s->parity_hash_sha256,
                                dsr_log_project_uuid(g->log), dsr_log_node_id(g->log), "main",
                                s->mission_type, s->manifest_version };
    ensure_batch(g);
    if (dsr_emit_baseline_accepted(g->b, &p, NULL, NULL, &err))
        die("baseline", &err);
    g->emitted++;
    dsr_snapshot_info_free(s);
}

static int do_gen(const char *dir, uint64_t events, unsigned arts, unsigned features)
{
    dsr_err err = { 0 };
    gen g = { NULL, NULL, 0 };
    if (dsr_log_open(&g.log, dir, 0, &err))
        die(dir, &err);
    unsigned **versions = calloc(features, sizeof *versions);
    unsigned *scans = calloc(features, sizeof *scans);
    for (unsigned f = 0; f < features; f++)
        versions[f] = calloc(arts, sizeof **versions);
    double t0 = now_s();
    for (unsigned f = 0; f < features; f++)
        scan_run(&g, f, arts, versions[f], 0);
    if (dsr_replay_catch_up(g.log, NULL, &err))
        die("catch-up", &err);
    for (unsigned f = 0; f < features; f++)
        accept_baseline(&g, f);
    flush(&g);
    for (unsigned r = 0; g.emitted < events; r++) {
        unsigned f = r % features;
        for (unsigned k = 0; k < arts / 100 + 1; k++)   /* ~1% of the files edited */
            versions[f][next_rand() % arts]++;
        scan_run(&g, f, arts, versions[f], ++scans[f] % 10 == 0);
    }
    double t1 = now_s();
    dsr_replay_stats st = DSR_REPLAY_STATS_INIT;
    if (dsr_replay_catch_up(g.log, &st, &err))
        die("catch-up", &err);
    double t2 = now_s();
    printf("generated %llu events in %.2f s; first catch-up: %llu events, %llu derived, "
           "%.2f s (%.0f events/s)\n", (unsigned long long)g.emitted, t1 - t0,
           (unsigned long long)st.events_read, (unsigned long long)st.derived_new, t2 - t1,
           (double)st.events_read / (t2 - t1));
    for (unsigned f = 0; f < features; f++)
        free(versions[f]);
    free(versions);
    free(scans);
    dsr_log_close(g.log);
    return 0;
}

static int do_read(const char *dir)
{
    dsr_err err = { 0 };
    dsr_log *log = NULL;
    if (dsr_log_open(&log, dir, DSR_LOG_RDONLY | DSR_LOG_NOCREATE, &err))
        die(dir, &err);
    double t0 = now_s();
    dsr_log_iter *it = NULL;
    if (dsr_log_iter_events(log, 1, &it, &err))
        die("iter", &err);
    uint64_t n = 0, types[DSR_EV_COUNT] = { 0 };
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        int r = dsr_log_iter_next(it, &k, &kl, &v, &vl, &err);
        if (r < 0)
            die("read", &err);
        if (!r)
            break;
        dsr_envelope env;
        if (dsr_record_decode(v, vl, &u, &env, &err))
            die("decode", &err);
        types[env.type]++;
        n++;
    }
    msgpack_unpacked_destroy(&u);
    dsr_log_iter_free(it);
    double dt = now_s() - t0;
    printf("read %llu events in %.3f s (%.0f events/s); snapshots %llu, drifts %llu\n",
           (unsigned long long)n, dt, (double)n / dt,
           (unsigned long long)types[DSR_EV_SNAPSHOT_COMPUTED],
           (unsigned long long)types[DSR_EV_PARITY_DRIFT_DETECTED]);
    dsr_log_close(log);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "gen"))
        return do_gen(argv[2], strtoull(argv[3], NULL, 10),
                      argc > 4 ? (unsigned)atoi(argv[4]) : 1000,
                      argc > 5 ? (unsigned)atoi(argv[5]) : 20);
    if (argc == 3 && !strcmp(argv[1], "read"))
        return do_read(argv[2]);
    fprintf(stderr, "usage: replay_gen gen LOGDIR EVENTS [ARTS_PER_SCAN] [FEATURES]\n"
                    "       replay_gen read LOGDIR\n");
    return 2;
}
