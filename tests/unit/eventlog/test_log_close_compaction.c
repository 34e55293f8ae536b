/*
 * test_log_close_compaction.c - what a closing writer compacts in a family
 * (eventlog/log_flush.c, log_close_compaction_of): a family of small tables
 * (what short sessions leave) is merged whole once four are there; one that
 * holds a large run's tables has only its level 0 merged, so that its older
 * tables are not copied again at every few closes; nothing over the close's
 * byte bound is rewritten.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "log.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)

typedef struct family_case {
    const char          *name;
    int                  files;
    uint64_t             bytes;
    int                  l0;
    uint64_t             l0_bytes;
    log_close_compaction want;
} family_case;

static const family_case cases[] = {
    { "four tables of short sessions: merged whole",
      4, 16 * KIB, 4, 16 * KIB, LOG_COMPACT_WHOLE },
    { "three tables: not due yet",
      3, 12 * KIB, 3, 12 * KIB, LOG_COMPACT_NONE },
    { "one large table below many small ones: merged whole",
      9, 1 * MIB + 8 * 4 * KIB, 8, 8 * 4 * KIB, LOG_COMPACT_WHOLE },
    { "a large run's older tables below, four new in level 0: level 0 only",
      7, 7 * MIB, 4, 4 * MIB, LOG_COMPACT_LEVEL0 },
    { "the same, three new: nothing (not whole)",
      6, 6 * MIB, 3, 3 * MIB, LOG_COMPACT_NONE },
    { "a large run's table with three small ones in level 0: level 0 only",
      4, 1 * MIB + 3 * 4 * KIB, 4, 1 * MIB + 3 * 4 * KIB, LOG_COMPACT_LEVEL0 },
    { "a large run's table below three small ones: nothing",
      4, 1 * MIB + 3 * 4 * KIB, 3, 3 * 4 * KIB, LOG_COMPACT_NONE },
    { "the same with a fourth small one: the average is small again",
      5, 1 * MIB + 4 * 4 * KIB, 4, 4 * 4 * KIB, LOG_COMPACT_WHOLE },
    { "at the average bound (256 KiB a table): merged whole",
      4, 1 * MIB, 1, 256 * KIB, LOG_COMPACT_WHOLE },
    { "a byte over it, one table in level 0: nothing",
      4, 1 * MIB + 1, 1, 256 * KIB, LOG_COMPACT_NONE },
    { "a family over the byte bound, small tables in level 0: level 0 only",
      24, 20 * MIB, 4, 40 * KIB, LOG_COMPACT_LEVEL0 },
    { "level 0 over large tables it overlaps: nothing",
      24, 20 * MIB, 4, 8 * MIB + 40 * KIB, LOG_COMPACT_NONE },
    { "level 0 of a large run's tables over the byte bound: nothing",
      40, 280 * MIB, 4, 28 * MIB, LOG_COMPACT_NONE },
    { "no level 0 and few tables: nothing",
      2, 2 * MIB, 0, 0, LOG_COMPACT_NONE },
};

static const char *kind_name(log_close_compaction k)
{
    return k == LOG_COMPACT_WHOLE ? "whole" : k == LOG_COMPACT_LEVEL0 ? "level 0" : "none";
}

static void test_close_compaction_by_family(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const family_case *c = &cases[i];
        log_close_compaction got =
            log_close_compaction_of(c->files, c->bytes, c->l0, c->l0_bytes);
        if (got != c->want)
            fail_msg("%s: %s, expected %s", c->name, kind_name(got), kind_name(c->want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_compaction_by_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
