/*
 * log_bench.c - throughput of the event log: append N events durably (every
 * batch committed with sync) and read them back.
 *
 * Usage: log_bench DIR [EVENTS] [BATCH] [MODE] [COMMITS]
 *   DIR     a folder for the logs (created; the bench removes nothing)
 *   EVENTS  events to append (default 1000000)
 *   BATCH   events per committed batch (default 16384)
 *   MODE    emit  - dsr_emit_artifact_indexed: validate + envelope + append
 *           raw   - dsr_log_batch_append of ready-made records (the log alone)
 *           both  - (default) emit into DIR/emit, raw into DIR/raw
 *   COMMITS pipelined - (default) each batch but the last committed in the
 *                       background while the next is built
 *           serial    - every batch committed before the next is built
 *
 * Prints one CSV line per mode:
 *   mode,events,batch,append_s,append_eps,commit_s,append_cpu_s,open_ro_s,read_s,
 *   read_eps,record_bytes
 * append_s is wall time for all appends including every commit's fsync;
 * commit_s the part spent inside the commit calls (serial: RocksDB write, WAL
 * fsync, memtable inserts; pipelined: waiting for the batch in flight); append_cpu_s the process CPU time (all threads,
 * RocksDB's background flushes included) over the append phase -- the figure
 * to compare when the machine is shared.  open_ro_s is the read-only open
 * (a RocksDB secondary replays the unflushed WAL), read_* a full pass with
 * dsr_log_iter_events + dsr_record_decode (every record decoded and
 * validated).  Wall times use CLOCK_MONOTONIC.
 */
#include "buf.h"            /* common/buf.h: the growable buffer dsr_log_get_event fills */
#include "dossier/emit.h"
#include "codec.h"     /* eventlog/: codec_ulid_to_bin, the stored id form */
#include "dossier/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
         + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Filled by the append benches. */
typedef struct append_stats {
    double wall, commit, cpu;
    size_t bytes;
} append_stats;

/* Pipelined (the default): every batch but the last is committed in the
 * background (dsr_log_batch_commit_async) while the next one is built; the
 * last is committed in the foreground, after them.  Serial: every commit in
 * the foreground. */
static int serial_commits;

static int timed_commit(dsr_log_batch *b, int last, append_stats *st, dsr_err *err)
{
    double t = now_s();
    int rc = last || serial_commits ? dsr_log_batch_commit(b, err)
                                    : dsr_log_batch_commit_async(b, err);
    st->commit += now_s() - t;
    return rc;
}

static int die(const char *what, const dsr_err *err)
{
    fprintf(stderr, "log_bench: %s: %s\n", what, err->msg);
    return 1;
}

/* A realistic indexed payload for artifact i (paths, keys and hashes vary). */
typedef struct gen {
    char key[48], path[96], hash[65];
} gen;

static void fill(gen *g, unsigned long i)
{
    static const char hx[] = "0123456789abcdef";
    snprintf(g->key, sizeof g->key, "artifact.%lu", i);
    snprintf(g->path, sizeof g->path, "kitty-specs/042-feature/tasks/WP%02lu/file-%07lu.md",
             i % 97, i);
    unsigned long x = i * 2654435761ul + 12345;
    for (int k = 0; k < 64; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        g->hash[k] = hx[x & 15];
    }
    g->hash[64] = '\0';
}

static int bench_emit(const char *dir, unsigned long n, unsigned long batch, append_stats *st)
{
    dsr_err err = {0};
    dsr_log *log;
    if (dsr_log_open(&log, dir, 0, &err))
        return die("open", &err);
    char run[DSR_ULID_LEN + 1];
    if (dsr_ulid_new(dsr_log_ulid_gen(log), run)) {
        dsr_log_close(log);
        fprintf(stderr, "log_bench: ulid\n");
        return 1;
    }
    dsr_emit_meta meta = { .correlation_id = run };
    gen g;
    double t0 = now_s(), c0 = cpu_s();
    for (unsigned long done = 0; done < n;) {
        dsr_log_batch *b;
        if (dsr_log_batch_begin(log, &b, &err))
            return die("begin", &err);
        for (unsigned long k = 0; k < batch && done < n; k++, done++) {
            fill(&g, done);
            dsr_artifact_indexed p = {
                .feature_slug = "042-feature", .artifact_key = g.key,
                .artifact_class = "output", .relative_path = g.path,
                .content_hash_sha256 = g.hash, .size_bytes = (int64_t)(done * 37 % 100000),
                .wp_id = "WP01", .step_id = NULL, .required_status = "optional",
            };
            if (dsr_emit_artifact_indexed(b, &p, &meta, NULL, &err))
                return die("emit", &err);
        }
        if (timed_commit(b, done == n, st, &err))
            return die("commit", &err);
    }
    st->wall = now_s() - t0;
    st->cpu = cpu_s() - c0;
    dsr_buf rec = DSR_BUF_INIT;
    if (dsr_log_get_event(log, 1, &rec, &err) == 0)
        st->bytes = rec.len;
    dsr_buf_free(&rec);
    dsr_log_close(log);
    return 0;
}

/* Ready-made records: one emitted envelope, reused with a fresh event_id
 * written in place (the log does not look inside records). */
static int bench_raw(const char *dir, unsigned long n, unsigned long batch, append_stats *st)
{
    dsr_err err = {0};
    dsr_log *log;
    if (dsr_log_open(&log, dir, 0, &err))
        return die("open", &err);
    /* Build a representative record with the emitter on a scratch batch. */
    gen g;
    fill(&g, 1);
    dsr_artifact_indexed p = {
        .feature_slug = "042-feature", .artifact_key = g.key, .artifact_class = "output",
        .relative_path = g.path, .content_hash_sha256 = g.hash, .size_bytes = 4096,
        .wp_id = "WP01", .step_id = NULL, .required_status = "optional",
    };
    dsr_log_batch *b;
    dsr_emit_result r;
    if (dsr_log_batch_begin(log, &b, &err) || dsr_emit_artifact_indexed(b, &p, NULL, &r, &err)
        || dsr_log_batch_commit(b, &err))
        return die("seed", &err);
    dsr_buf rec = DSR_BUF_INIT;
    if (dsr_log_get_event(log, 1, &rec, &err))
        return die("seed read", &err);
    st->bytes = rec.len;
    /* A stored record (format 2) holds the event_id as its 16 bytes. */
    unsigned char idbin[16];
    char *id = NULL;
    if (!codec_ulid_to_bin(r.event_id, DSR_ULID_LEN, idbin))
        id = memmem(rec.data, rec.len, idbin, sizeof idbin);
    if (!id) {
        fprintf(stderr, "log_bench: event_id not found in record\n");
        return 1;
    }
    dsr_ulid_gen *ug = dsr_log_ulid_gen(log);
    double t0 = now_s(), c0 = cpu_s();
    for (unsigned long done = 0; done < n;) {
        if (dsr_log_batch_begin(log, &b, &err))
            return die("begin", &err);
        for (unsigned long k = 0; k < batch && done < n; k++, done++) {
            char eid[DSR_ULID_LEN + 1];
            if (dsr_ulid_new(ug, eid)) {
                fprintf(stderr, "log_bench: ulid\n");
                return 1;
            }
            (void)codec_ulid_to_bin(eid, DSR_ULID_LEN, (unsigned char *)id);
            if (dsr_log_batch_append(b, eid, rec.data, rec.len, NULL, NULL, &err))
                return die("append", &err);
        }
        if (timed_commit(b, done == n, st, &err))
            return die("commit", &err);
    }
    st->wall = now_s() - t0;
    st->cpu = cpu_s() - c0;
    dsr_buf_free(&rec);
    dsr_log_close(log);
    return 0;
}

static int bench_read(const char *dir, unsigned long *count, double *open_secs, double *secs)
{
    dsr_err err = {0};
    dsr_log *log;
    double t0 = now_s();
    if (dsr_log_open(&log, dir, DSR_LOG_RDONLY, &err))
        return die("open read-only", &err);
    *open_secs = now_s() - t0;
    t0 = now_s();
    dsr_log_iter *it;
    if (dsr_log_iter_events(log, 1, &it, &err))
        return die("iter", &err);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const void *v;
    size_t vl;
    int rc;
    unsigned long c = 0;
    while ((rc = dsr_log_iter_next(it, NULL, NULL, &v, &vl, &err)) == 1) {
        dsr_envelope env;
        if (dsr_record_decode(v, vl, &u, &env, &err))
            return die("decode", &err);
        c++;
    }
    if (rc < 0)
        return die("read", &err);
    *secs = now_s() - t0;
    *count = c;
    msgpack_unpacked_destroy(&u);
    dsr_log_iter_free(it);
    dsr_log_close(log);
    return 0;
}

static int run(const char *mode, const char *dir, unsigned long n, unsigned long batch)
{
    append_stats st = { 0, 0, 0, 0 };
    double os = 0, rs = 0;
    unsigned long got = 0;
    int rc = !strcmp(mode, "emit") ? bench_emit(dir, n, batch, &st)
                                   : bench_raw(dir, n, batch, &st);
    if (rc || bench_read(dir, &got, &os, &rs))
        return 1;
    unsigned long expect = !strcmp(mode, "emit") ? n : n + 1;   /* raw has its seed */
    if (got != expect) {
        fprintf(stderr, "log_bench: read %lu events, expected %lu\n", got, expect);
        return 1;
    }
    printf("%s,%lu,%lu,%.3f,%.0f,%.3f,%.3f,%.3f,%.3f,%.0f,%zu\n", mode, n, batch, st.wall,
           (double)n / st.wall, st.commit, st.cpu, os, rs, (double)got / rs, st.bytes);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 6) {
        fprintf(stderr, "usage: log_bench DIR [EVENTS] [BATCH] [emit|raw|both] "
                        "[pipelined|serial]\n");
        return 2;
    }
    if (argc > 5 && strcmp(argv[5], "pipelined")) {
        if (strcmp(argv[5], "serial")) {
            fprintf(stderr, "log_bench: COMMITS is pipelined or serial\n");
            return 2;
        }
        serial_commits = 1;
    }
    const char *dir = argv[1];
    unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000ul;
    unsigned long batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 16384ul;
    const char *mode = argc > 4 ? argv[4] : "both";
    if (!n || !batch) {
        fprintf(stderr, "log_bench: EVENTS and BATCH must be positive\n");
        return 2;
    }
    char sub[4096];
    if (!strcmp(mode, "both")) {
        snprintf(sub, sizeof sub, "%s/emit", dir);
        if (run("emit", sub, n, batch))
            return 1;
        snprintf(sub, sizeof sub, "%s/raw", dir);
        return run("raw", sub, n, batch);
    }
    if (strcmp(mode, "emit") && strcmp(mode, "raw")) {
        fprintf(stderr, "log_bench: MODE is emit, raw or both\n");
        return 2;
    }
    return run(mode, dir, n, batch);
}
