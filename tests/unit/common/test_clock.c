/*
 * test_clock.c - the millisecond clocks and the condition-variable deadline
 * of common/clock.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <time.h>

#include "clock.h"

static void test_monotonic_clock_never_goes_back_and_sleep_waits(void **state)
{
    (void)state;
    uint64_t a = clock_mono_ms();
    clock_sleep_ms(20);
    uint64_t b = clock_mono_ms();
    assert_true(b >= a + 19);
    /* Wall time is Unix ms: after 2020-01-01. */
    assert_true(clock_now_ms() > UINT64_C(1577836800000));
}

static void test_deadline_is_normalised_and_in_the_future(void **state)
{
    (void)state;
    static const uint64_t ms[] = { 0, 1, 999, 1000, 1001, 86400001 };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        struct timespec now, dl = clock_deadline_ms(ms[i]);
        clock_gettime(CLOCK_REALTIME, &now);
        assert_true(dl.tv_nsec >= 0 && dl.tv_nsec < 1000000000L);
        int64_t left = ((int64_t)dl.tv_sec - now.tv_sec) * 1000 +
                       (dl.tv_nsec - now.tv_nsec) / 1000000;
        if (left > (int64_t)ms[i] || left < (int64_t)ms[i] - 50)
            fail_msg("deadline %llu ms: %lld ms left", (unsigned long long)ms[i],
                     (long long)left);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic_clock_never_goes_back_and_sleep_waits),
        cmocka_unit_test(test_deadline_is_normalised_and_in_the_future),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
