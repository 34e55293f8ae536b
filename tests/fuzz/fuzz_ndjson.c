/*
 * fuzz_ndjson.c - libFuzzer harness for the NDJSON import / validate path:
 * one line of text -> dsr_json_to_msgpack (strict JSON) -> dsr_envelope_decode
 * (msgpack map -> envelope view, payload rules) -> dsr_record_pack (the
 * stored record, format 2, that dsr_emit_import writes) -> dsr_record_decode
 * -> dsr_msgpack_to_json -> parse again.
 *
 * Properties: no crash or sanitizer report; an envelope that validates
 * re-encodes into a record that validates again, whose canonical encoding is
 * a fixed point (packing it again gives the same bytes: what verify calls
 * canonical), and whose JSON text parses back to the same record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dossier/event.h"

static void repack(const dsr_envelope *env, msgpack_sbuffer *out)
{
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (dsr_record_pack(&pk, env))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_sbuffer sb, c1, c2, back;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&c1);
    msgpack_sbuffer_init(&c2);
    msgpack_sbuffer_init(&back);
    msgpack_unpacked u, u2;
    msgpack_unpacked_init(&u);
    msgpack_unpacked_init(&u2);
    dsr_buf json = DSR_BUF_INIT;
    dsr_err err = { 0 };
    dsr_envelope env, env2;

    int rc = dsr_json_to_msgpack((const char *)data, size, &sb, &err);
    if (rc) {
        if (rc != DSR_EPARSE || !err.msg[0])
            abort();
        goto out;
    }
    rc = dsr_envelope_decode(sb.data, sb.size, &u, &env, &err);
    if (rc) {
        if (rc != DSR_ESCHEMA || !err.msg[0])
            abort();   /* our own msgpack always decodes; only the rules may fail */
        goto out;
    }
    repack(&env, &c1);
    if (dsr_record_decode(c1.data, c1.size, &u2, &env2, &err))
        abort();       /* what import would store must validate */
    repack(&env2, &c2);
    if (c1.size != c2.size || memcmp(c1.data, c2.data, c1.size))
        abort();       /* canonical form is a fixed point */
    if (dsr_msgpack_to_json(&u2.data, &json))
        abort();
    if (dsr_json_to_msgpack(json.data, json.len, &back, &err))
        abort();       /* our JSON output is strict JSON */
out:
    dsr_buf_free(&json);
    msgpack_unpacked_destroy(&u2);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&back);
    msgpack_sbuffer_destroy(&c2);
    msgpack_sbuffer_destroy(&c1);
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
