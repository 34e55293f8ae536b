/*
 * rocksdb_deferred.c - RocksDB's static initialisers, run before the
 * binary's first call into RocksDB instead of at every start.
 *
 * The binary links RocksDB's static archive (CMakeLists.txt,
 * DOSSIER_STATIC_ROCKSDB).  Its C++ translation units bring static
 * initialisers -- the option-type tables, the object registries, iostream
 * set-up -- that build maps of strings, one allocation per entry, and
 * register their destructors for exit.  Before main() they would cost
 * every start, also of the commands that never open a log (`index`,
 * `validate`, `--help`, `--version`); docs/bench.md, "Small missions", has
 * the figures.  rocksdb_deferred.ld moves the archive's .init_array entries
 * into a section of their own, which the dynamic loader does not run; they
 * run here, in their link order, once.
 *
 * Invariant: no RocksDB code runs before its initialisers.  It holds
 * because every use of RocksDB starts from an object that one of the
 * functions wrapped below made: they are the C API's entry points that take
 * no RocksDB object (rocksdb_free and the *_destroy functions aside, which
 * take what such a call returned), and the library reaches RocksDB through
 * the C API only.
 * The linker routes the library's calls to each of them through its
 * __wrap_ function (-Wl,--wrap; CMakeLists.txt reads the list from the
 * DEFERRED lines of this file), which runs the initialisers first.
 * tests/e2e/rocksdb_deferred.sh checks that the list covers every such
 * entry point the library calls; a new one that is missing fails it.
 *
 * The first call may come from any thread; pthread_once makes the others
 * wait until the initialisers have run.  A destructor they register runs at
 * exit, as it would have.  Compiled only when the binary links the archive.
 */
#include <assert.h>
#include <pthread.h>
#include <stddef.h>

#include <rocksdb/c.h>

typedef void (*init_fn)(void);

/* defined by rocksdb_deferred.ld: the archive's .init_array entries */
extern const init_fn dossier_rocksdb_init_start[];
extern const init_fn dossier_rocksdb_init_end[];

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void run_initialisers(void)
{
    const init_fn *first = dossier_rocksdb_init_start, *end = dossier_rocksdb_init_end;
    assert(first <= end);
    for (const init_fn *f = first; f < end; f++)
        (*f)();
}

static void rocksdb_deferred_init(void)
{
    pthread_once(&once, run_initialisers);
}

/* DEFERRED(type, name, (params), (args)): __wrap_name runs the
 * initialisers, then calls the real name. */
#define DEFERRED(type, name, params, args) \
    type __real_##name params; \
    type __wrap_##name params; \
    type __wrap_##name params \
    { \
        rocksdb_deferred_init(); \
        return __real_##name args; \
    }

DEFERRED(rocksdb_options_t *, rocksdb_options_create, (void), ())
DEFERRED(rocksdb_block_based_table_options_t *, rocksdb_block_based_options_create, (void), ())
DEFERRED(rocksdb_filterpolicy_t *, rocksdb_filterpolicy_create_bloom_full,
         (double bits_per_key), (bits_per_key))
DEFERRED(rocksdb_flushoptions_t *, rocksdb_flushoptions_create, (void), ())
DEFERRED(rocksdb_compactoptions_t *, rocksdb_compactoptions_create, (void), ())
DEFERRED(rocksdb_readoptions_t *, rocksdb_readoptions_create, (void), ())
DEFERRED(rocksdb_writeoptions_t *, rocksdb_writeoptions_create, (void), ())
DEFERRED(rocksdb_writebatch_t *, rocksdb_writebatch_create, (void), ())
DEFERRED(rocksdb_writebatch_t *, rocksdb_writebatch_create_from,
         (const char *rep, size_t size), (rep, size))
