/* SPDX-License-Identifier: MIT */
/* Fuzz target: widget visitor tokens (signed, parsed from outside) and query-string decoding. */
#include "../../src/http/http_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sb_server srv; /* only the secret is used */
    char text[1200];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';

    struct sb_principal who;
    if (sb__visitor_token_check(&srv, text, &who) == 0 && who.visitor[0] == '\0')
        abort(); /* an accepted token always names its visitor */

    static struct sb_http_req req;
    size_t q = n < sizeof(req.query) - 1 ? n : sizeof(req.query) - 1;
    memcpy(req.query, text, q);
    req.query[q] = '\0';
    char out[64];
    if (sb__http_query(&req, "since", out, sizeof(out)) && strlen(out) >= sizeof(out))
        abort();
    sb__http_query(&req, "token", out, sizeof(out));
    return 0;
}
