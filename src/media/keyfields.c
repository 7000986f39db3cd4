/* SPDX-License-Identifier: MIT */
/*
 * Receipt and invoice key fields (company, date, address, total) from OCR lines. Placeholder
 * during development; replaced below.
 */
#include "media_internal.h"
#include "sb/mem.h"

#include <stdlib.h>
#include <string.h>

void sb_receipt_fields_cleanup(struct sb_receipt_fields *f)
{
    if (!f)
        return;
    free(f->company);
    free(f->date);
    free(f->address);
    free(f->total);
    memset(f, 0, sizeof(*f));
}

void sb_media_receipt_fields(const struct sb_ocr_page *page, struct sb_receipt_fields *out)
{
    (void)page;
    memset(out, 0, sizeof(*out));
    out->company = sb_strdup("");
    out->date = sb_strdup("");
    out->address = sb_strdup("");
    out->total = sb_strdup("");
}
