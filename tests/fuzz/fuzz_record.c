/*
 * fuzz_record.c - libFuzzer harness for the stored-record decoder: arbitrary
 * bytes as a record from the events family -> dsr_record_decode (msgpack,
 * envelope, payload rules) -> dsr_msgpack_to_json (what `dossier events`
 * prints) -> dsr_json_to_msgpack.
 *
 * Properties: no crash, no sanitizer report, no allocation out of proportion
 * to the input (libFuzzer's -malloc_limit_mb catches those); a decode
 * failure is DSR_ECORRUPT or DSR_ESCHEMA with a message; a record that
 * decodes prints as JSON that parses back, and re-packed as a stored record
 * (format 2) decodes again.  Seeds hold both formats (v2-* are format 2).
 */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "dossier/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    msgpack_sbuffer back;
    msgpack_sbuffer_init(&back);
    dsr_buf json = DSR_BUF_INIT;
    dsr_err err = { 0 };
    dsr_envelope env;
    int rc = dsr_record_decode(data, size, &u, &env, &err);
    if (rc) {
        if ((rc != DSR_ECORRUPT && rc != DSR_ESCHEMA) || !err.msg[0])
            abort();
    } else {
        if (dsr_msgpack_to_json(&u.data, &json))
            abort();
        if (dsr_json_to_msgpack(json.data, json.len, &back, &err))
            abort();
        msgpack_sbuffer rec;
        msgpack_sbuffer_init(&rec);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &rec, msgpack_sbuffer_write);
        msgpack_unpacked u2;
        msgpack_unpacked_init(&u2);
        dsr_envelope env2;
        if (dsr_record_pack(&pk, &env) || dsr_record_decode(rec.data, rec.size, &u2, &env2, &err))
            abort();
        msgpack_unpacked_destroy(&u2);
        msgpack_sbuffer_destroy(&rec);
    }
    dsr_buf_free(&json);
    msgpack_sbuffer_destroy(&back);
    msgpack_unpacked_destroy(&u);
    return 0;
}
