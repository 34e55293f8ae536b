/*
 * fuzz_sk3.c - libFuzzer harness for the spec-kitty-3 reader: one line ->
 * dsr_sk3_check (every problem) -> dsr_sk3_to_canonical -> the canonical
 * envelope -> dsr_sk3_render -> dsr_sk3_check again.
 *
 * Properties: no crash or sanitizer report; the checker reports each
 * problem with a non-empty field and message; a line it accepts either
 * converts into a canonical envelope that dsr_envelope_decode accepts, or
 * is refused with DSR_ESCHEMA and a message; a converted event renders back
 * into a line the checker accepts, and that line converts to the same
 * canonical bytes (the round trip of docs/interop.md section 6).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dossier/event.h"
#include "dossier/sk3.h"

static void on_problem(void *ctx, const char *field, const char *msg)
{
    (void)ctx;
    if (!field || !*field || !msg || !*msg)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    int np = dsr_sk3_check(line, size, on_problem, NULL);
    if (np < 0)
        abort();   /* only DSR_ENOMEM, which a small input never causes */
    if (np > 0)
        return 0;
    msgpack_sbuffer c1, c2;
    msgpack_sbuffer_init(&c1);
    msgpack_sbuffer_init(&c2);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_buf text = DSR_BUF_INIT;
    dsr_err err = { 0 };
    dsr_envelope env;
    dsr_sk3_runs *runs = NULL;
    if (dsr_sk3_runs_new(&runs))
        abort();
    int rc = dsr_sk3_to_canonical(line, size, runs, &c1, &err);
    if (rc) {
        if (rc != DSR_ESCHEMA || !err.msg[0] || c1.size)
            abort();
        goto out;
    }
    if (dsr_envelope_decode(c1.data, c1.size, &u, &env, &err))
        abort();   /* what import would append must be a valid envelope */
    rc = dsr_sk3_render(&env, NULL, &text, &err);
    if (rc)
        abort();   /* only the four dossier types convert, and all render */
    if (dsr_sk3_check(text.data, text.len, on_problem, NULL) != 0)
        abort();
    if (dsr_sk3_to_canonical(text.data, text.len, NULL, &c2, &err))
        abort();
    if (c1.size != c2.size || memcmp(c1.data, c2.data, c1.size))
        abort();   /* rendering and reading are inverse */
out:
    dsr_sk3_runs_free(runs);
    dsr_buf_free(&text);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&c2);
    msgpack_sbuffer_destroy(&c1);
    return 0;
}
