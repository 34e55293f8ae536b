/*
 * fuzz_wp_frontmatter.c - libFuzzer harness for the spec-kitty-3 WP
 * frontmatter reader (scanner/wp_frontmatter.c: the "---" block, YAML through
 * libyaml's events, the WP schema, the canonical JSON projection).
 *
 * Properties checked beyond "no crash, no sanitizer report": the answer is
 * one of the three decisions (or DSR_ENOMEM); a projection is non-empty,
 * valid UTF-8 (the input is, as the scanner only passes valid UTF-8 files),
 * starts with the first static field and stays under WP_FM_MAX_JSON; the
 * same input gives the same answer twice (no hidden state).  Inputs that are
 * not valid UTF-8 are still fed once: the reader must not trust the check.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dossier/error.h"
#include "utf8.h"
#include "wp_frontmatter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsr_buf a = DSR_BUF_INIT, b = DSR_BUF_INIT;
    char why[256], why2[256];
    int ra = wp_fm_project((const char *)data, size, &a, why, sizeof why);
    assert(ra == DSR_ENOMEM || ra == WP_FM_RAW || ra == WP_FM_PROJECTED || ra == WP_FM_INVALID);
    if (utf8_check((const char *)data, size)) {
        if (ra == WP_FM_PROJECTED) {
            assert(a.len > 0 && a.len <= WP_FM_MAX_JSON);
            assert(!memcmp(a.data, "{\"authoritative_surface\":", 25));
            assert(utf8_check(a.data, a.len));
        } else {
            assert(a.len == 0);
        }
        if (ra == WP_FM_INVALID)
            assert(why[0]);
        int rb = wp_fm_project((const char *)data, size, &b, why2, sizeof why2);
        assert(rb == ra || rb == DSR_ENOMEM || ra == DSR_ENOMEM);
        if (rb == ra && ra == WP_FM_PROJECTED)
            assert(a.len == b.len && !memcmp(a.data, b.data, a.len));
    }
    dsr_buf_free(&a);
    dsr_buf_free(&b);
    return 0;
}
