/*
 * test_deliver_sign.c - Standard Webhooks signing: known-answer vectors
 * (the Standard Webhooks reference vector and HMAC-SHA256 computed
 * independently with Python's hmac module), base64 (RFC 4648 section 10),
 * and secret parsing (whsec_ decoded, raw bytes otherwise, never echoed in
 * error messages).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "dossier/deliver.h"

static void sign_ok(const dsr_webhook_secret *s, const char *id, int64_t ts, const char *body,
                    const char *want)
{
    char sig[DSR_WEBHOOK_SIG_MAX];
    dsr_err err = {0};
    assert_int_equal(dsr_webhook_sign(s, id, strlen(id), ts, body, strlen(body), sig, &err), 0);
    assert_string_equal(sig, want);
}

static void test_sign_matches_standard_webhooks_reference_vector(void **state)
{
    (void)state;
    const char *text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    assert_int_equal(dsr_webhook_secret_parse(text, strlen(text), "test", &s, &err), 0);
    assert_int_equal(s.len, 24);
    sign_ok(&s, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    dsr_webhook_secret_clear(&s);
    assert_null(s.key);
    assert_int_equal(s.len, 0);
}

static void test_sign_raw_secret_uses_its_bytes(void **state)
{
    (void)state;
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    assert_int_equal(dsr_webhook_secret_parse("Jefe", 4, "test", &s, &err), 0);
    assert_int_equal(s.len, 4);
    assert_memory_equal(s.key, "Jefe", 4);
    sign_ok(&s, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 1700000000, "{\"a\":1}",
            "v1,BOk2Xa7ieSLG9Sjou/x6xkgfeM73Qt8siUGxmTskM1U=");
    dsr_webhook_secret_clear(&s);
}

static void test_sign_empty_body_and_zero_timestamp(void **state)
{
    (void)state;
    unsigned char key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)i;
    char text[64] = "whsec_";
    b64_encode(key, sizeof key, text + 6);
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    assert_int_equal(dsr_webhook_secret_parse(text, strlen(text), "test", &s, &err), 0);
    assert_int_equal(s.len, 32);
    assert_memory_equal(s.key, key, 32);
    sign_ok(&s, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 0, "",
            "v1,9gLzqd//MvUD2sqtR+dW7lqNsbBSU8ZmyrpEX+Cv+bo=");
    dsr_webhook_secret_clear(&s);
}

static void test_sign_changes_with_every_input(void **state)
{
    (void)state;
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    assert_int_equal(dsr_webhook_secret_parse("k", 1, "test", &s, &err), 0);
    char a[DSR_WEBHOOK_SIG_MAX], b[DSR_WEBHOOK_SIG_MAX], c[DSR_WEBHOOK_SIG_MAX],
         d[DSR_WEBHOOK_SIG_MAX];
    assert_int_equal(dsr_webhook_sign(&s, "id1", 3, 10, "x", 1, a, &err), 0);
    assert_int_equal(dsr_webhook_sign(&s, "id2", 3, 10, "x", 1, b, &err), 0);
    assert_int_equal(dsr_webhook_sign(&s, "id1", 3, 11, "x", 1, c, &err), 0);
    assert_int_equal(dsr_webhook_sign(&s, "id1", 3, 10, "y", 1, d, &err), 0);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_int_equal(strlen(a), 47);
    assert_memory_equal(a, "v1,", 3);
    dsr_webhook_secret_clear(&s);
}

static void test_base64_rfc4648_vectors_encode_and_decode(void **state)
{
    (void)state;
    static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        size_t n = b64_encode((const unsigned char *)plain[i], strlen(plain[i]), out);
        assert_int_equal(n, strlen(enc[i]));
        assert_string_equal(out, enc[i]);
        unsigned char dec[16];
        size_t dl = 99;
        assert_int_equal(b64_decode(enc[i], strlen(enc[i]), dec, &dl), 0);
        assert_int_equal(dl, strlen(plain[i]));
        assert_memory_equal(dec, plain[i], dl);
    }
    /* Unpadded and URL-safe forms decode too. */
    unsigned char dec[16];
    size_t dl;
    assert_int_equal(b64_decode("Zm9vYg", 6, dec, &dl), 0);
    assert_int_equal(dl, 4);
    assert_int_equal(b64_decode("-_8", 3, dec, &dl), 0);
    assert_int_equal(dl, 2);
    assert_int_equal(dec[0], 0xfb);
    assert_int_equal(dec[1], 0xff);
}

static void test_base64_decode_rejects_malformed_text(void **state)
{
    (void)state;
    /* The last ones are what OpenSSL's EVP_DecodeBlock alone would take:
     * surrounding whitespace, '=' inside, leftover bits. */
    static const char *bad[] = { "Zm9v!", "Z", "Zg=", "Zh==", "Zg===", "Z=g=", "Zm 9v",
                                 " Zm9v", "Zm9v\n", "Zg==Zg==", "Zm9=", "Zm9vYh", "=", "==" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char dec[16];
        size_t dl;
        assert_int_equal(b64_decode(bad[i], strlen(bad[i]), dec, &dl), DSR_EPARSE);
    }
}

static void test_base64_round_trips_every_length_in_both_alphabets(void **state)
{
    (void)state;
    unsigned char in[70], dec[70 + 3];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 37 + 250);   /* reaches '+' and '/' */
    for (size_t n = 0; n <= sizeof in; n++) {
        char enc[4 * (sizeof in / 3 + 1) + 1];
        size_t el = b64_encode(in, n, enc);
        assert_int_equal(el, (n + 2) / 3 * 4);
        assert_int_equal(strlen(enc), el);
        size_t dl = 999;
        if (b64_decode(enc, el, dec, &dl) != 0)
            fail_msg("length %zu: '%s' does not decode", n, enc);
        assert_int_equal(dl, n);
        assert_memory_equal(dec, in, n);
        /* URL-safe and unpadded: the same bytes. */
        for (size_t i = 0; i < el; i++)
            enc[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
        while (el > 0 && enc[el - 1] == '=')
            el--;
        if (b64_decode(enc, el, dec, &dl) != 0)
            fail_msg("length %zu: url-safe '%.*s' does not decode", n, (int)el, enc);
        assert_int_equal(dl, n);
        assert_memory_equal(dec, in, n);
    }
}

static void test_secret_surrounding_whitespace_is_ignored(void **state)
{
    (void)state;
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    const char *t = "  s3cret value\r\n";
    assert_int_equal(dsr_webhook_secret_parse(t, strlen(t), "test", &s, &err), 0);
    assert_int_equal(s.len, 12);
    assert_memory_equal(s.key, "s3cret value", 12);
    dsr_webhook_secret_clear(&s);
}

static void test_secret_invalid_whsec_is_refused_without_echoing_it(void **state)
{
    (void)state;
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    const char *t = "whsec_NOT*BASE64*TOPSECRET";
    assert_int_equal(dsr_webhook_secret_parse(t, strlen(t), "secret file /x", &s, &err),
                     DSR_EINVAL);
    assert_null(s.key);
    assert_non_null(strstr(err.msg, "secret file /x"));
    assert_null(strstr(err.msg, "TOPSECRET"));
    assert_null(strstr(err.msg, "NOT*BASE64"));
}

static void test_secret_empty_or_too_long_is_refused(void **state)
{
    (void)state;
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    assert_int_equal(dsr_webhook_secret_parse(" \n", 2, "env", &s, &err), DSR_EINVAL);
    assert_int_equal(dsr_webhook_secret_parse("whsec_", 6, "env", &s, &err), DSR_EINVAL);
    char *big = malloc(DSR_WEBHOOK_SECRET_MAX + 2);
    assert_non_null(big);
    memset(big, 'a', DSR_WEBHOOK_SECRET_MAX + 1);
    big[DSR_WEBHOOK_SECRET_MAX + 1] = '\0';
    assert_int_equal(dsr_webhook_secret_parse(big, strlen(big), "env", &s, &err), DSR_EINVAL);
    assert_null(strstr(err.msg, "aaaa"));
    /* Exactly the maximum is fine. */
    assert_int_equal(dsr_webhook_secret_parse(big, DSR_WEBHOOK_SECRET_MAX, "env", &s, &err), 0);
    assert_int_equal(s.len, DSR_WEBHOOK_SECRET_MAX);
    dsr_webhook_secret_clear(&s);
    free(big);
}

static void test_secret_file_is_loaded_and_missing_file_named(void **state)
{
    (void)state;
    char path[] = "/tmp/dossier-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *t = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    assert_int_equal(dsr_webhook_secret_load(path, &s, &err), 0);
    assert_int_equal(s.len, 24);
    dsr_webhook_secret_clear(&s);
    unlink(path);
    assert_int_equal(dsr_webhook_secret_load(path, &s, &err), DSR_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_null(s.key);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "secret file load blocked on a FIFO\n";
    (void)!write(2, m, sizeof m - 1);
    _exit(1);
}

/* A FIFO (no writer) as secret file: refused at once, naming the file; it
 * used to block the open forever (issue 17 item 10). */
static void test_secret_file_fifo_or_folder_is_refused_without_blocking(void **state)
{
    (void)state;
    char dir[] = "/tmp/dossier-secret-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    signal(SIGALRM, on_alarm);
    alarm(20);     /* at once when fixed; generous for a loaded machine */
    dsr_webhook_secret s = DSR_WEBHOOK_SECRET_INIT;
    dsr_err err = {0};
    assert_int_equal(dsr_webhook_secret_load(fifo, &s, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, fifo));
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_null(s.key);
    assert_int_equal(dsr_webhook_secret_load(dir, &s, &err), DSR_EINVAL);
    assert_non_null(strstr(err.msg, "a folder"));
    alarm(0);
    unlink(fifo);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_standard_webhooks_reference_vector),
        cmocka_unit_test(test_sign_raw_secret_uses_its_bytes),
        cmocka_unit_test(test_sign_empty_body_and_zero_timestamp),
        cmocka_unit_test(test_sign_changes_with_every_input),
        cmocka_unit_test(test_base64_rfc4648_vectors_encode_and_decode),
        cmocka_unit_test(test_base64_decode_rejects_malformed_text),
        cmocka_unit_test(test_base64_round_trips_every_length_in_both_alphabets),
        cmocka_unit_test(test_secret_surrounding_whitespace_is_ignored),
        cmocka_unit_test(test_secret_invalid_whsec_is_refused_without_echoing_it),
        cmocka_unit_test(test_secret_empty_or_too_long_is_refused),
        cmocka_unit_test(test_secret_file_is_loaded_and_missing_file_named),
        cmocka_unit_test(test_secret_file_fifo_or_folder_is_refused_without_blocking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
