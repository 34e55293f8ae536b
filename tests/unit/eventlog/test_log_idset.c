/*
 * test_log_idset.c - the batch's id set (eventlog/log_idset.c): ids added in
 * increasing order (the sorted run) and out of order (the hash map) are all
 * found with their sequences, ids never added are not, and a cleared set
 * forgets every id but works again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "log.h"

/* A 26-char id whose order follows n (zero-padded decimal digits are
 * Crockford characters, and sort as the numbers do). */
static void id_of(unsigned n, char out[DSR_ULID_LEN + 1])
{
    snprintf(out, DSR_ULID_LEN + 1, "01%024u", n);
}

typedef struct order_case {
    const char *name;
    unsigned    ids[12];   /* the order in which they are added; 0 ends */
} order_case;

static const order_case cases[] = {
    { "increasing: all in the sorted run", { 10, 20, 30, 40, 50, 0 } },
    { "one id below the last ends the run", { 10, 20, 30, 15, 40, 50, 0 } },
    { "the first two out of order", { 30, 10, 20, 40, 0 } },
    { "two ids, increasing", { 10, 20, 0 } },
    { "decreasing: all but the first in the map", { 90, 80, 70, 60, 0 } },
};

static void check_case(const order_case *c, log_idset *s)
{
    char id[DSR_ULID_LEN + 1];
    size_t n = 0;
    for (; c->ids[n]; n++) {
        id_of(c->ids[n], id);
        uint64_t seq = 0;
        if (log_idset_find(s, id, &seq))
            fail_msg("%s: id %u found before it was added", c->name, c->ids[n]);
        assert_int_equal(log_idset_add(s, id, 1000 + n), 0);
    }
    for (size_t i = 0; i < n; i++) {
        id_of(c->ids[i], id);
        uint64_t seq = 0;
        if (!log_idset_find(s, id, &seq))
            fail_msg("%s: id %u (added %zu-th) not found", c->name, c->ids[i], i);
        if (seq != 1000 + i)
            fail_msg("%s: id %u has seq %llu, expected %zu", c->name, c->ids[i],
                     (unsigned long long)seq, 1000 + i);
    }
    /* ids never added: below, between and above the ones that were */
    static const unsigned absent[] = { 1, 12, 25, 35, 45, 55, 65, 75, 85, 95 };
    for (size_t k = 0; k < sizeof absent / sizeof *absent; k++) {
        id_of(absent[k], id);
        uint64_t seq = 0;
        if (log_idset_find(s, id, &seq))
            fail_msg("%s: id %u found but never added", c->name, absent[k]);
    }
}

static void test_idset_finds_ids_added_in_any_order(void **state)
{
    (void)state;
    log_idset s;
    memset(&s, 0, sizeof s);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_case(&cases[i], &s);
        log_idset_clear(&s);
        /* cleared: nothing of the case is found any more */
        char id[DSR_ULID_LEN + 1];
        for (size_t j = 0; cases[i].ids[j]; j++) {
            id_of(cases[i].ids[j], id);
            uint64_t seq = 0;
            if (log_idset_find(&s, id, &seq))
                fail_msg("%s: id %u found after clear", cases[i].name, cases[i].ids[j]);
        }
    }
    log_idset_free(&s);
}

static void test_idset_many_increasing_ids_then_one_out_of_order(void **state)
{
    (void)state;
    log_idset s;
    memset(&s, 0, sizeof s);
    char id[DSR_ULID_LEN + 1];
    /* past the arrays' first sizes, as a batch of a large scan */
    for (unsigned i = 0; i < 5000; i++) {
        id_of(2 * i + 2, id);
        assert_int_equal(log_idset_add(&s, id, i), 0);
    }
    id_of(1, id);   /* below all of them: an import's id */
    assert_int_equal(log_idset_add(&s, id, 99999), 0);
    uint64_t seq = 0;
    assert_true(log_idset_find(&s, id, &seq));
    assert_int_equal(seq, 99999);
    for (unsigned i = 0; i < 5000; i++) {
        id_of(2 * i + 2, id);
        assert_true(log_idset_find(&s, id, &seq));
        assert_int_equal(seq, i);
        id_of(2 * i + 3, id);
        assert_false(log_idset_find(&s, id, &seq));
    }
    log_idset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idset_finds_ids_added_in_any_order),
        cmocka_unit_test(test_idset_many_increasing_ids_then_one_out_of_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
