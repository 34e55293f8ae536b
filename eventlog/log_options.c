/*
 * log_options.c - how the RocksDB instance under a log is tuned: DB-wide
 * options, the table format of each kind of family, read and write options,
 * and the memtable limit long-running writers ask for.
 *
 * Families by kind:
 *   events        written in key order, read in sequence ranges: no filters;
 *   ids, named    point lookups: bloom filters, memtable bloom for ids;
 *   proj_*, verify_*  rebuilt from the log at will: uncompressed.
 * Every commit is synced; every read verifies block checksums.
 */
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Table files a writer keeps open (RocksDB opens up to 16 of them at
 * DB::Open, the rest when first read): half the usual soft limit of 1,024
 * file descriptors, leaving the rest to the scan's folders and files. */
enum { LOG_WRITER_OPEN_TABLES = 512 };

/* DB-wide options the C API has no setter for, as an options string. */
static const char db_option_string[] =
    /* A writer's open replays the WAL into the memtables and keeps it, as
     * log_flush.c's policy asks (small sessions keep their WAL), instead of
     * writing a table file per family at every open: the replayed data is
     * still in the fsync'd WAL files, which RocksDB deletes only after the
     * memtables holding it are flushed. */
    "avoid_flush_during_recovery=true;"
    /* No fallocate: RocksDB reserves 1.1 write buffers (70 MB) for every
     * new WAL and gives back what was not written when it closes it, and on
     * ext4 that ftruncate of a few kilobytes written was most of a small
     * scan's close (docs/bench.md).  Files grow as they are written instead;
     * each synced commit writes the new size either way. */
    "allow_fallocate=false";

int log_options_make(dsr_log *log, int writer)
{
    rocksdb_options_t *base = rocksdb_options_create();
    log->opts = rocksdb_options_create();
    if (!base || !log->opts) {
        if (base)
            rocksdb_options_destroy(base);
        return DSR_ENOMEM;
    }
    char *e = NULL;
    rocksdb_get_options_from_string(base, db_option_string, log->opts, &e);
    rocksdb_options_destroy(base);
    if (e) {
        free(e);
        return DSR_ENOMEM;
    }
    log->table = rocksdb_block_based_options_create();
    log->events_table = rocksdb_block_based_options_create();
    log->ropts = rocksdb_readoptions_create();
    log->scan_ropts = rocksdb_readoptions_create();
    log->wopts = rocksdb_writeoptions_create();
    if (!log->opts || !log->table || !log->events_table || !log->ropts || !log->scan_ropts
        || !log->wopts)
        return DSR_ENOMEM;
    rocksdb_options_set_create_if_missing(log->opts, writer);
    rocksdb_options_set_create_missing_column_families(log->opts, writer);
    /* Refuse to open on any inconsistency instead of skipping data. */
    rocksdb_options_set_paranoid_checks(log->opts, 1);
    rocksdb_options_set_compression(log->opts, rocksdb_lz4_compression);
    rocksdb_options_set_write_buffer_size(log->opts, 64u << 20);
    rocksdb_options_set_max_write_buffer_number(log->opts, 4);
    /* ...but all families' memtables together stay under 128 MB: a large
     * scan fills events, ids, scan_cache and the projections at once, and
     * the peak memory is theirs without this cap (docs/bench.md). */
    rocksdb_options_set_db_write_buffer_size(log->opts, 128u << 20);
    rocksdb_options_set_max_background_jobs(log->opts, 2);
    /* Starting a command should cost what its work costs: the table files
     * of each family are opened by the opening thread, not by a pool of up
     * to 16 threads started and joined per family (on two cores a pool
     * gains little even for many files; for the few of a small log it is
     * all overhead); no timer thread for periodic statistics nobody reads;
     * no pass over the table properties to refresh statistics that only
     * compaction heuristics use. */
    rocksdb_options_set_max_file_opening_threads(log->opts, 1);
    rocksdb_options_set_stats_dump_period_sec(log->opts, 0);
    rocksdb_options_set_stats_persist_period_sec(log->opts, 0);
    rocksdb_options_set_skip_stats_update_on_db_open(log->opts, 1);
    /* RocksDB's own diagnostics go to LOG files in the folder; keep few.
     * Only fatal messages: librocksdb 7.8 as packaged by Debian keeps its
     * assertions, and once one write to its info log has failed (disk full)
     * the next one aborts the process
     * (WritableFileWriter::AssertFalseAndGetStatusForPrevError).  The
     * disk-full error path logs at ERROR level, so with the default level a
     * full disk killed `dossier scan` with SIGABRT instead of a clean
     * "No space left on device" (tests/e2e/disk_full.sh).
     * No size limit, so the logger is the plain one: RocksDB's size-rolling
     * logger writes the header (every option of every family) at each open
     * whatever the level, and keeps a copy of it to write again after a
     * roll; the plain one filters the header by level like any other line.  A LOG then holds fatal messages only; each open still starts a
     * new one, and keep_log_file_num prunes the old ones. */
    rocksdb_options_set_keep_log_file_num(log->opts, 2);
    rocksdb_options_set_max_log_file_size(log->opts, 0);
    rocksdb_options_set_info_log_level(log->opts, 4 /* FATAL_LEVEL */);
    /* A writer opens a table file when it first reads from it, and keeps at
     * most LOG_WRITER_OPEN_TABLES open: RocksDB's default (-1) opens every
     * table at DB::Open, so a log that gained a table per large run paid
     * for all of them at every scan, most never read by it, and a log of
     * more tables than the file descriptor limit could not be opened at
     * all.  The open still checks that every table the MANIFEST names is
     * there at its recorded size (paranoid_checks), so a missing or cut
     * table is refused as before; a damaged block is found when it is read,
     * and by `dossier verify`, which opens every table.  Readers keep -1:
     * a secondary requires it, and verify and DSR_LOG_INTACT readers open
     * every table to fail on any damage before they answer. */
    rocksdb_options_set_max_open_files(log->opts, writer ? LOG_WRITER_OPEN_TABLES : -1);
    /* Writers, verify and DSR_LOG_INTACT readers: a damaged WAL record is an
     * error, not the silent end of the log that point-in-time recovery
     * (RocksDB's default) makes of it, dropping every committed event after
     * it; only a torn last record (a crash mid-write) is tolerated.
     * log_wal.c checks the WAL first and names the damage; log_db.c switches
     * repair and verify to skipping the damaged records once it is known. */
    if (writer || (log->flags & (LOG_OPEN_LENIENT | DSR_LOG_INTACT)))
        rocksdb_options_set_wal_recovery_mode(log->opts, 0 /* kTolerateCorruptedTailRecords */);

    /* events: written in key order, read by sequence ranges; point lookups
     * are rare, so no filters -- less work per flush. */
    rocksdb_block_based_options_set_block_size(log->events_table, 16u << 10);
    if (!(log->events_opts = rocksdb_options_create_copy(log->opts)))
        return DSR_ENOMEM;
    rocksdb_options_set_block_based_table_factory(log->events_opts, log->events_table);

    /* ids and the named families: point lookups.  Bloom filters answer the
     * common question "is this event_id stored?" (no) without reading data
     * blocks; the memtable bloom does the same before a flush. */
    rocksdb_filterpolicy_t *filter = rocksdb_filterpolicy_create_bloom_full(10);
    if (!filter)
        return DSR_ENOMEM;
    rocksdb_block_based_options_set_filter_policy(log->table, filter);  /* table owns it */
    rocksdb_options_set_block_based_table_factory(log->opts, log->table);
    if (!(log->ids_opts = rocksdb_options_create_copy(log->opts)))
        return DSR_ENOMEM;
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(log->ids_opts, 0.05);
    rocksdb_options_set_memtable_whole_key_filtering(log->ids_opts, 1);

    /* Projection state (proj_*, verify_*): rebuilt from the log at will and
     * rewritten by every replay, so it is stored uncompressed: compressing
     * its flushes and compactions is a visible share of a replay's CPU
     * (docs/bench.md). */
    if (!(log->proj_opts = rocksdb_options_create_copy(log->opts)))
        return DSR_ENOMEM;
    rocksdb_options_set_compression(log->proj_opts, rocksdb_no_compression);

    /* Every commit is durable: the WAL is fsynced before Write() returns. */
    rocksdb_writeoptions_set_sync(log->wopts, 1);
    rocksdb_readoptions_set_verify_checksums(log->ropts, 1);
    /* Walking the events in order (replay, export, delivery) reads each
     * block once: keep them out of the block cache and read ahead in steps
     * of many blocks.  Not larger: every table file the walk merges (the
     * level-0 files and the current one of level 1) keeps a read-ahead
     * buffer of this size, memory first touched by the walk, and a first
     * touch is what costs most on a virtual machine (docs/bench.md, "Replay"). */
    rocksdb_readoptions_set_verify_checksums(log->scan_ropts, 1);
    rocksdb_readoptions_set_fill_cache(log->scan_ropts, 0);
    rocksdb_readoptions_set_readahead_size(log->scan_ropts, 256u << 10);
    return 0;
}

rocksdb_options_t *log_cf_options(dsr_log *log, const char *name)
{
    if (!strcmp(name, LOG_CF_EVENTS))
        return log->events_opts;
    if (!strcmp(name, LOG_CF_IDS))
        return log->ids_opts;
    if (!strncmp(name, "proj_", 5) || !strncmp(name, "verify_", 7))
        return log->proj_opts;
    return log->opts;
}

void log_options_destroy(dsr_log *log)
{
    if (log->opts)
        rocksdb_options_destroy(log->opts);
    if (log->events_opts)
        rocksdb_options_destroy(log->events_opts);
    if (log->ids_opts)
        rocksdb_options_destroy(log->ids_opts);
    if (log->proj_opts)
        rocksdb_options_destroy(log->proj_opts);
    /* The options hold their own copies of the table settings (and share the
     * filter policy), so the originals can go now. */
    if (log->table)
        rocksdb_block_based_options_destroy(log->table);
    if (log->events_table)
        rocksdb_block_based_options_destroy(log->events_table);
    if (log->ropts)
        rocksdb_readoptions_destroy(log->ropts);
    if (log->scan_ropts)
        rocksdb_readoptions_destroy(log->scan_ropts);
    if (log->wopts)
        rocksdb_writeoptions_destroy(log->wopts);
    log->opts = log->events_opts = log->ids_opts = log->proj_opts = NULL;
    log->table = log->events_table = NULL;
    log->ropts = log->scan_ropts = NULL;
    log->wopts = NULL;
}

int dsr_log_limit_memtables(dsr_log *log, dsr_err *err)
{
    if (!log || !log->db || (log->flags & DSR_LOG_RDONLY))
        return 0;
    /* Both are mutable column family options; families created later keep
     * the defaults of make_options. */
    static const char *const keys[] = { "write_buffer_size", "max_write_buffer_number" };
    static const char *const vals[] = { "16777216", "2" };
    log_commit_drain(log);
    for (size_t i = 0; i < log->n_cfs; i++) {
        char *e = NULL;
        rocksdb_set_options_cf(log->db, log->cfs[i].h, 2, keys, vals, &e);
        if (e)
            return log_rdb_fail(err, e, "%s: cannot limit the memtables of %s", log->dir,
                                log->cfs[i].name);
    }
    return 0;
}
