/*
 * test_url.c - url_redact / url_redact_list (common/url.h): what a printed
 * webhook or NATS URL keeps and what it hides.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "url.h"

static void test_url_redaction_hides_userinfo_and_query_values(void **state)
{
    (void)state;
    static const char *in[] = { "https://u:p@h.test/x", "http://h.test/a@b", "http://tok@h:8/",
                                "http://h/", "https://h/x?token=abc&v=2#top",
                                "http://u:p@h/?secret", "http://h/?a=&b" };
    static const char *out[] = { "https://***@h.test/x", "http://h.test/a@b", "http://***@h:8/",
                                 "http://h/", "https://h/x?token=***&v=***#top",
                                 "http://***@h/?***", "http://h/?a=***&***" };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char *r = url_redact(in[i]);
        assert_string_equal(r, out[i]);
        free(r);
    }
}

static void test_url_list_redaction_hides_every_element(void **state)
{
    (void)state;
    char *r = url_redact_list("nats://alice:S3cretPW@h1:4222,nats://bob:Pw2@h2:4222, nats://h3");
    assert_string_equal(r, "nats://***@h1:4222,nats://***@h2:4222, nats://h3");
    free(r);
    r = url_redact_list("nats://tok@h");
    assert_string_equal(r, "nats://***@h");
    free(r);
    r = url_redact_list("");
    assert_string_equal(r, "");
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_redaction_hides_userinfo_and_query_values),
        cmocka_unit_test(test_url_list_redaction_hides_every_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
