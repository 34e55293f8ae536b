/*
 * crypto_policy.c - how the dossier binary starts OpenSSL.
 *
 * dossier uses OpenSSL for SHA-256 (file contents, ids, manifests), HMAC-
 * SHA256 (webhook signatures) and Base64, all from its built-in default
 * provider.  OpenSSL's first use otherwise also reads the system's
 * configuration file (openssl.cnf), loads the text of every error reason and
 * registers the name of every legacy cipher and digest: on a small mission
 * that work costs more than the hashing (docs/bench.md, "Small missions").
 * None of it changes a digest or a signature, and dossier prints no OpenSSL
 * error text.  A configuration the user asks for by setting OPENSSL_CONF (a
 * FIPS set-up, say) is still read.
 *
 * Must run before anything else calls OpenSSL: the first initialisation
 * decides.  The library leaves this to its caller (an embedding program
 * keeps OpenSSL's defaults).
 */
#include "cli.h"

#include <stdlib.h>

#include <openssl/crypto.h>

void cli_crypto_policy(void)
{
    uint64_t opts = OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
                    OPENSSL_INIT_NO_ADD_ALL_DIGESTS;
    if (!getenv("OPENSSL_CONF"))
        opts |= OPENSSL_INIT_NO_LOAD_CONFIG;
    /* On failure OpenSSL is left to initialise itself on first use, with
     * its defaults: slower, not wrong. */
    (void)OPENSSL_init_crypto(opts, NULL);
}
