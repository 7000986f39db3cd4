/* SPDX-License-Identifier: MIT */
/*
 * Attachments: images and voice notes sent by customers through the widget
 * (POST /api/v1/widget/attachments, visitor token) or the generic API channel
 * (POST /api/v1/attachments, API key), and their download by agents (GET /api/v1/media/{sha}).
 *
 * The request body is the raw file. Its type is sniffed from the bytes (sb_media_sniff), never
 * taken from the client; images and WAV audio up to SB__ATTACH_MAX_BYTES are accepted. JPEG
 * files lose their APP1 segments (EXIF, with GPS location, and XMP) before storing. The bytes
 * are stored content-addressed as DATA/media/<tenant>/<sha256 hex> (temporary file, fsync,
 * rename; mode 0600), so a tenant can only ever download media uploaded into it. The customer
 * message is then ingested with parts [{"type": "image"|"audio", "media", "mime", "size"}] (plus
 * a text part for an optional caption); OCR/ASR run later on the worker as annotations
 * (src/engine/annotate_media.c).
 */
#include "api.h"

#include "sb/log.h"
#include "sb/media.h"
#include "sb/file.h"
#include "sb/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TEXT_BYTES 1000
#define MAX_ID_BYTES 256
#define MAX_NAME_BYTES 127

long long sb__http_body_limit(const struct sb_config *cfg, const char *path)
{
    size_t n = strlen(path), suffix = sizeof("/attachments") - 1;
    long long def = sb_config_int(cfg, "max_body_bytes");
    if (n >= suffix && strcmp(path + n - suffix, "/attachments") == 0 &&
        def < SB__ATTACH_MAX_BYTES)
        return SB__ATTACH_MAX_BYTES;
    return def;
}

/* ---- JPEG metadata ---- */

size_t sb__jpeg_strip_app1(const unsigned char *in, size_t n, unsigned char *out)
{
    if (n < 4 || in[0] != 0xFF || in[1] != 0xD8)
        return 0;
    size_t i = 2, o = 2;
    out[0] = 0xFF;
    out[1] = 0xD8;
    while (i + 4 <= n) {
        if (in[i] != 0xFF)
            return 0;
        unsigned m = in[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0xD8 || m == 0xD9 || m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            return 0; /* not expected before the scan */
        size_t len = ((size_t)in[i + 2] << 8) | in[i + 3];
        if (len < 2 || i + 2 + len > n)
            return 0;
        if (m == 0xDA) { /* start of scan: the rest is entropy-coded data, copied verbatim */
            memcpy(out + o, in + i, n - i);
            return o + (n - i);
        }
        if (m != 0xE1) {
            memcpy(out + o, in + i, 2 + len);
            o += 2 + len;
        }
        i += 2 + len;
    }
    return 0;
}

/* ---- storage ---- */

static int ensure_dir(const char *path, struct sb_error *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return sb_error_set(err, SB_EIO, "%s: %s", path, strerror(errno));
    return 0;
}

int sb__media_path(const struct sb_config *cfg, sb_id tenant, const char *sha, char *out,
                   size_t cap)
{
    int n = snprintf(out, cap, "%s/media/%lld/%s", sb_config_str(cfg, "data"), (long long)tenant,
                     sha ? sha : "");
    return n < 0 || (size_t)n >= cap ? SB_ETOOBIG : 0;
}

/* Stores `n` bytes as DATA/media/<tenant>/<sha256 hex>; `sha` receives the hex name. */
static int media_store(const struct sb_config *cfg, sb_id tenant, const unsigned char *data,
                       size_t n, char sha[65], struct sb_error *err)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, n);
    sodium_bin2hex(sha, 65, h, sizeof(h));
    char dir[4096], path[4200], tmp[4300];
    snprintf(dir, sizeof(dir), "%s/media", sb_config_str(cfg, "data"));
    int rc = ensure_dir(dir, err);
    if (rc || (rc = sb__media_path(cfg, tenant, NULL, dir, sizeof(dir))) ||
        (rc = ensure_dir(dir, err)))
        return rc ? rc : SB_EIO;
    snprintf(path, sizeof(path), "%s/%s", dir, sha);
    struct stat st;
    if (stat(path, &st) == 0 && (size_t)st.st_size == n)
        return 0; /* already stored: same name, same bytes */
    unsigned char rnd[6];
    char rhex[13];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(rhex, sizeof(rhex), rnd, sizeof(rnd));
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-%s", dir, sha, rhex);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return sb_error_set(err, SB_EIO, "%s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = sb_error_set(err, SB_EIO, "%s: %s", tmp, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    if (!rc && fsync(fd) != 0)
        rc = sb_error_set(err, SB_EIO, "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = sb_error_set(err, SB_EIO, "close %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = sb_error_set(err, SB_EIO, "rename %s: %s", path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ---- upload ---- */

struct attach_ctx {
    struct sb_http_req *r;
    int bind_visitor;
    json_t *media; /* {"media", "mime", "size", "type"} for the answer */
};

static void on_commit(void *ud, const struct sb_ingest_result *res)
{
    struct attach_ctx *ctx = ud;
    struct sb_http_req *r = ctx->r;
    if (res->rc) {
        sb__http_error(r, res->rc, res->rc == SB_ENOTFOUND ? "inbox not found"
                                                           : "the message could not be stored");
    } else {
        if (ctx->bind_visitor)
            sb__ws_bind_visitor(r->srv, &r->who, res->contact_id);
        json_t *o = json_object();
        json_object_set_new(o, "conversation_id", json_integer(res->conversation_id));
        json_object_set_new(o, "message_id", json_integer(res->message_id));
        json_object_set_new(o, "duplicate", json_boolean(res->duplicate));
        json_object_set(o, "attachment", ctx->media);
        sb__http_respond_json(r, res->duplicate ? 200 : 201, o);
    }
    json_decref(ctx->media);
    sb__http_req_unref(r);
    free(ctx);
}

static void unsupported(struct sb_http_req *r, const char *msg)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string("EUNSUPPORTED"));
    json_object_set_new(e, "message", json_string(msg));
    json_t *o = json_object();
    json_object_set_new(o, "error", e);
    sb__http_respond_json(r, 415, o);
}

/* Optional query parameter as a string: 0 absent/ok, -1 after answering 400 (too long). */
static int query_str(struct sb_http_req *r, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    if (!sb__http_query(r, name, out, cap))
        return 0;
    if (strlen(out) + 1 >= cap) {
        sb__http_error(r, SB_EINVAL, "query parameter '%s' is longer than %zu bytes", name,
                       cap - 2);
        return -1;
    }
    return 0;
}

/* Checks and stores the body, then ingests the message. `in` has the channel fields set. */
static void attach(struct sb_http_req *r, struct sb_ingest *in, int bind_visitor)
{
    char want[16], text[MAX_TEXT_BYTES + 2], grammar[16], mime[64];
    if (query_str(r, "kind", want, sizeof(want)) || query_str(r, "text", text, sizeof(text)) ||
        query_str(r, "grammar", grammar, sizeof(grammar)))
        return;
    if (want[0] && strcmp(want, "image") && strcmp(want, "audio")) {
        sb__http_error(r, SB_EINVAL, "query parameter 'kind' must be image or audio");
        return;
    }
    if (grammar[0] && strcmp(grammar, "digits") && strcmp(grammar, "yesno")) {
        sb__http_error(r, SB_EINVAL, "query parameter 'grammar' must be digits or yesno");
        return;
    }
    if (!r->body || r->body_len == 0) {
        sb__http_error(r, SB_EINVAL, "request body: expected the file's bytes");
        return;
    }
    if (r->body_len > SB__ATTACH_MAX_BYTES) {
        sb__http_error(r, SB_ETOOBIG, "attachments are limited to %d bytes",
                       SB__ATTACH_MAX_BYTES);
        return;
    }
    enum sb_media_kind kind = sb_media_sniff(r->body, r->body_len, mime, sizeof(mime));
    if (kind == SB_MEDIA_UNKNOWN) {
        char msg[160];
        snprintf(msg, sizeof(msg), "unsupported file type %s: send an image or a WAV file",
                 mime);
        unsupported(r, msg);
        return;
    }
    const char *type = kind == SB_MEDIA_IMAGE ? "image" : "audio";
    if (want[0] && strcmp(want, type)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the file is %s, not %s", mime, want);
        unsupported(r, msg);
        return;
    }
    const unsigned char *bytes = (const unsigned char *)r->body;
    size_t n = r->body_len;
    unsigned char *stripped = NULL;
    if (strcmp(mime, "image/jpeg") == 0) {
        stripped = sb_malloc(n);
        size_t m = sb__jpeg_strip_app1(bytes, n, stripped);
        if (m) {
            bytes = stripped;
            n = m;
        }
        /* a JPEG we cannot walk is stored as sent; OCR will report it as corrupt */
    }
    char sha[65];
    struct sb_error err = {0};
    int rc = media_store(r->srv->cfg, r->who.tenant_id, bytes, n, sha, &err);
    free(stripped);
    if (rc) {
        SB_LOG(SB_LOG_ERROR, "api", "storing an attachment: %s", err.msg);
        sb__http_error(r, rc, "the attachment could not be stored");
        return;
    }
    json_t *part = json_object();
    json_object_set_new(part, "type", json_string(type));
    json_object_set_new(part, "media", json_string(sha));
    json_object_set_new(part, "mime", json_string(mime));
    json_object_set_new(part, "size", json_integer((json_int_t)n));
    if (grammar[0])
        json_object_set_new(part, "grammar", json_string(grammar));
    json_t *parts = json_array();
    json_array_append(parts, part);
    if (text[0]) {
        json_t *t = json_object();
        json_object_set_new(t, "type", json_string("text"));
        json_object_set_new(t, "text", json_string(text));
        json_array_append_new(parts, t);
    }
    char *parts_json = json_dumps(parts, JSON_COMPACT);
    json_decref(parts);
    in->text = text;
    in->parts_json = parts_json;

    struct attach_ctx *ctx = sb_calloc(1, sizeof(*ctx));
    ctx->r = r;
    ctx->bind_visitor = bind_visitor;
    ctx->media = part;
    sb__http_req_ref(r);
    if (sb_engine_ingest(r->srv->engine, in, on_commit, NULL, ctx)) {
        json_decref(part);
        sb__http_req_unref(r);
        free(ctx);
        sb__http_error(r, SB_EBUSY, "server is shutting down");
    }
    free(parts_json);
}

void sb__api_widget_attachment_post(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    char msg_id[MAX_ID_BYTES + 2], default_name[48];
    if (query_str(r, "message_id", msg_id, sizeof(msg_id)))
        return;
    snprintf(default_name, sizeof(default_name), "Visitor %.6s", r->who.visitor);
    struct sb_ingest in = {
        .tenant_id = r->who.tenant_id,
        .inbox_id = r->who.inbox_id,
        .provider_msg_id = msg_id[0] ? msg_id : NULL,
        .customer_ext_id = r->who.visitor,
        .customer_name = default_name,
    };
    attach(r, &in, 1);
}

void sb__api_attachment_post(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_server *s = r->srv;
    char cust[MAX_ID_BYTES + 2], name[MAX_NAME_BYTES + 2], inbox[MAX_NAME_BYTES + 2],
        msg_id[MAX_ID_BYTES + 2];
    if (query_str(r, "customer_id", cust, sizeof(cust)) ||
        query_str(r, "customer_name", name, sizeof(name)) ||
        query_str(r, "inbox", inbox, sizeof(inbox)) ||
        query_str(r, "message_id", msg_id, sizeof(msg_id)))
        return;
    if (!cust[0]) {
        sb__http_error(r, SB_EINVAL, "query parameter 'customer_id' is required");
        return;
    }
    sb_id inbox_id = 0;
    if (!inbox[0] && r->who.tenant_id == s->opt.default_tenant) {
        inbox_id = s->opt.default_api_inbox;
    } else {
        struct sb_inbox ib = {0};
        struct sb_error err = {0};
        int rc = sb_store_inbox_find(s->store, r->who.tenant_id, inbox[0] ? inbox : "api", &ib,
                                     &err);
        if (rc) {
            if (rc == SB_ENOTFOUND)
                sb__http_error(r, rc, "query parameter 'inbox': no inbox named '%s'",
                               inbox[0] ? inbox : "api");
            else
                sb__api_store_error(r, &err, rc);
            return;
        }
        inbox_id = ib.id;
        sb_inbox_cleanup(&ib);
    }
    struct sb_ingest in = {
        .tenant_id = r->who.tenant_id,
        .inbox_id = inbox_id,
        .provider_msg_id = msg_id[0] ? msg_id : NULL,
        .customer_ext_id = cust,
        .customer_name = name[0] ? name : NULL,
    };
    attach(r, &in, 0);
}

/* ---- download ---- */

static const char *static_mime(const char *mime)
{
    static const char *const known[] = {"image/jpeg", "image/png",  "image/gif", "image/bmp",
                                        "image/tiff", "image/webp", "audio/x-wav"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(mime, known[i]) == 0)
            return known[i];
    return "application/octet-stream";
}

void sb__api_media_get(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    size_t kl = strlen(r->key);
    int ok = kl == 64;
    for (size_t i = 0; ok && i < kl; i++)
        ok = (r->key[i] >= '0' && r->key[i] <= '9') || (r->key[i] >= 'a' && r->key[i] <= 'f');
    if (!ok) {
        sb__http_error(r, SB_ENOTFOUND, "no such media");
        return;
    }
    char path[4200];
    if (sb__media_path(r->srv->cfg, r->who.tenant_id, r->key, path, sizeof(path))) {
        sb__http_error(r, SB_ENOTFOUND, "no such media");
        return;
    }
    char *buf = NULL;
    size_t n = 0;
    int rc = sb_file_read(path, SB__ATTACH_MAX_BYTES, &buf, &n, NULL);
    if (rc) {
        sb__http_error(r, rc == SB_EIO ? SB_EIO : SB_ENOTFOUND,
                       rc == SB_EIO ? "the media file could not be read" : "no such media");
        return;
    }
    char mime[64];
    sb_media_sniff(buf, n, mime, sizeof(mime));
    sb__http_respond(r, 200, static_mime(mime), buf, n,
                     "Content-Security-Policy: default-src 'none'; sandbox\r\n"
                     "Content-Disposition: inline\r\n");
}
