/* SPDX-License-Identifier: MIT */
/*
 * Attachments: images and voice notes sent by customers through the widget
 * (POST /api/v1/widget/attachments, visitor token) or the generic API channel
 * (POST /api/v1/attachments, API key), and their download (GET /api/v1/media/{sha} for agents
 * of the tenant, GET /api/v1/widget/media/{sha} for the visitor whose conversation holds it).
 *
 * The file comes in one of three body forms: the raw bytes (any other Content-Type), a
 * multipart/form-data body with one file part and optional text fields (multipart.c), or a
 * JSON object {"filename", "content_type"?, "data_base64", ...fields}. The same fields may also
 * be query parameters (the body wins). The type is sniffed from the bytes (sb_media_sniff),
 * never taken from the client: JPEG, PNG, WebP and WAV up to SB__ATTACH_MAX_BYTES are accepted.
 * Images lose their metadata (EXIF with GPS location, XMP, IPTC, text chunks: media_strip.h)
 * before storing. The bytes are stored content-addressed as DATA/media/<tenant>/<sha256 hex>
 * (temporary file, fsync, rename; mode 0600), so a tenant can only ever download media uploaded
 * into it. The customer message is then ingested with parts [{"type": "image"|"audio", "media",
 * "mime", "size", "name"?}] (plus a text part for an optional caption); OCR/ASR run later on the
 * worker as annotations (src/engine/annotate_media.c).
 */
#include "api.h"

#include "multipart.h"

#include "sb/json.h"
#include "sb/log.h"
#include "sb/media.h"
#include "sb/media_strip.h"
#include "sb/file.h"
#include "sb/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TEXT_BYTES 1000
#define MAX_ID_BYTES 256
#define MAX_NAME_BYTES 127
/* A body may carry the file in base64 (4/3 of its size) plus fields. */
#define SB__ATTACH_BODY_MAX (SB__ATTACH_MAX_BYTES / 3 * 4 + 512 * 1024)
#define SB__MP_MAX_PARTS 12

long long sb__http_body_limit(const struct sb_config *cfg, const char *path)
{
    size_t n = strlen(path), suffix = sizeof("/attachments") - 1;
    long long def = sb_config_int(cfg, "max_body_bytes");
    if (n >= suffix && strcmp(path + n - suffix, "/attachments") == 0 &&
        def < SB__ATTACH_BODY_MAX)
        return SB__ATTACH_BODY_MAX;
    return def;
}

/* ---- metadata ---- */

size_t sb__jpeg_strip_app1(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t m = 0;
    return sb_media_strip_jpeg(in, n, out, &m, NULL, NULL) == 0 ? m : 0;
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

/* ---- upload: the three body forms ---- */

/* What an upload carries, whatever its form. */
struct upload {
    const unsigned char *file; /* borrowed from the body, or `owned` */
    size_t n;
    unsigned char *owned; /* base64-decoded bytes (free) */
    char filename[SB_MP_FILENAME_MAX + 1];
    char kind[16], text[MAX_TEXT_BYTES + 2], grammar[16], message_id[MAX_ID_BYTES + 2];
    char customer_id[MAX_ID_BYTES + 2], customer_name[MAX_NAME_BYTES + 2];
    char inbox[MAX_NAME_BYTES + 2];
};

struct field {
    const char *name;
    size_t off, cap;
    int api_only; /* only POST /api/v1/attachments takes it */
};

#define FIELD(n, m, api) {n, offsetof(struct upload, m), sizeof(((struct upload *)0)->m), api}
static const struct field fields[] = {
    FIELD("kind", kind, 0),
    FIELD("text", text, 0),
    FIELD("caption", text, 0), /* an alias of text */
    FIELD("grammar", grammar, 0),
    FIELD("message_id", message_id, 0),
    FIELD("customer_id", customer_id, 1),
    FIELD("customer_name", customer_name, 1),
    FIELD("inbox", inbox, 1),
};

static const struct field *field_find(const char *name, int api)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(fields[i].name, name) == 0 && (api || !fields[i].api_only))
            return &fields[i];
    return NULL;
}

/* Sets a field from `n` bytes: 0, or -1 after answering 400/413 naming `where` and the field. */
static int field_set(struct sb_http_req *r, struct upload *u, const struct field *f,
                     const char *v, size_t n, const char *where)
{
    if (n + 1 >= f->cap) {
        sb__http_error(r, SB_EINVAL, "%s '%s' is longer than %zu bytes", where, f->name,
                       f->cap - 2);
        return -1;
    }
    json_t *probe = json_stringn(v, n); /* NULL for invalid UTF-8 (or a NUL inside) */
    if (!probe || memchr(v, '\0', n)) {
        json_decref(probe);
        sb__http_error(r, SB_EINVAL, "%s '%s' is not valid UTF-8 text", where, f->name);
        return -1;
    }
    json_decref(probe);
    char *dst = (char *)u + f->off;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return 0;
}

/* The client's file name, reduced to a harmless label: the last path component, control
 * characters dropped, valid UTF-8 or nothing. */
static void set_filename(struct upload *u, const char *name, size_t n)
{
    const char *base = name;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '/' || name[i] == '\\')
            base = name + i + 1;
    size_t o = 0;
    for (const char *p = base; p < name + n && o + 1 < sizeof(u->filename); p++)
        if ((unsigned char)*p >= 0x20 && *p != 0x7F)
            u->filename[o++] = *p;
    u->filename[o] = '\0';
    json_t *probe = json_string(u->filename);
    if (!probe)
        u->filename[0] = '\0';
    json_decref(probe);
}

static int parse_multipart(struct sb_http_req *r, struct upload *u, int api)
{
    char boundary[SB_MP_MAX_BOUNDARY + 1];
    struct sb_error err = {0};
    if (sb__mp_boundary(r->content_type, boundary, sizeof(boundary), &err)) {
        sb__http_error(r, SB_EINVAL, "%s", err.msg);
        return -1;
    }
    struct sb_mp_part parts[SB__MP_MAX_PARTS];
    size_t np = 0;
    struct sb_mp_limits lim = {.max_parts = SB__MP_MAX_PARTS,
                               .max_file_bytes = SB__ATTACH_MAX_BYTES,
                               .max_field_bytes = 4096,
                               .max_total_bytes = SB__ATTACH_BODY_MAX};
    int rc = sb__mp_parse(r->body, r->body_len, boundary, &lim, parts, SB__MP_MAX_PARTS, &np,
                          &err);
    if (rc) {
        sb__http_error(r, rc == SB_ETOOBIG ? SB_ETOOBIG : SB_EINVAL, "multipart body: %s",
                       err.msg);
        return -1;
    }
    const struct sb_mp_part *file = NULL;
    for (size_t i = 0; i < np; i++) {
        const struct sb_mp_part *p = &parts[i];
        if (p->has_filename) {
            if (file) {
                sb__http_error(r, SB_EINVAL,
                               "multipart body: part %zu ('%s') is a second file; send one "
                               "file per request",
                               i + 1, p->name);
                return -1;
            }
            file = p;
            continue;
        }
        const struct field *f = field_find(p->name, api);
        if (!f) {
            sb__http_error(r, SB_EINVAL, "multipart body: part %zu: unknown field '%s'", i + 1,
                           p->name);
            return -1;
        }
        char where[64]; /* "multipart body: part N: field" with any size_t N */
        snprintf(where, sizeof(where), "multipart body: part %zu: field", i + 1);
        if (field_set(r, u, f, p->data, p->len, where))
            return -1;
    }
    if (!file) {
        sb__http_error(r, SB_EINVAL,
                       "multipart body: no file part (a part with a filename parameter)");
        return -1;
    }
    u->file = (const unsigned char *)file->data;
    u->n = file->len;
    set_filename(u, file->filename, strlen(file->filename));
    return 0;
}

static int parse_json(struct sb_http_req *r, struct upload *u, int api)
{
    json_t *o = NULL;
    struct sb_error err = {0};
    if (sb_json_parse(r->body ? r->body : "", r->body_len, SB__ATTACH_BODY_MAX, 8, &o, &err)) {
        sb__http_error(r, err.code, "request body: %s", err.msg);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(o)) {
        sb__http_error(r, SB_EINVAL, "request body: expected a JSON object");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!strcmp(key, "filename") || !strcmp(key, "content_type") ||
            !strcmp(key, "data_base64") || json_is_null(v))
            continue;
        const struct field *f = field_find(key, api);
        if (!f)
            continue; /* unknown members are ignored, as elsewhere in the API */
        if (!json_is_string(v)) {
            sb__http_error(r, SB_EINVAL, "field '%s' must be a string", key);
            goto out;
        }
        if (field_set(r, u, f, json_string_value(v), json_string_length(v), "field"))
            goto out;
    }
    json_t *fn = json_object_get(o, "filename"), *ct = json_object_get(o, "content_type"),
           *data = json_object_get(o, "data_base64");
    if (!json_is_string(fn) || json_string_length(fn) == 0 ||
        json_string_length(fn) > SB_MP_FILENAME_MAX) {
        sb__http_error(r, SB_EINVAL, "field 'filename' is required: a string of 1 to %d bytes",
                       SB_MP_FILENAME_MAX);
        goto out;
    }
    if (ct && !json_is_null(ct) && (!json_is_string(ct) || json_string_length(ct) > 127)) {
        sb__http_error(r, SB_EINVAL, "field 'content_type' must be a string of at most 127 bytes");
        goto out;
    }
    if (!json_is_string(data) || json_string_length(data) == 0) {
        sb__http_error(r, SB_EINVAL, "field 'data_base64' is required: the file in base64");
        goto out;
    }
    int brc = sb__base64_decode(json_string_value(data), json_string_length(data),
                                SB__ATTACH_MAX_BYTES, &u->owned, &u->n, &err);
    if (brc) {
        sb__http_error(r, brc == SB_ETOOBIG ? SB_ETOOBIG : SB_EINVAL, "field 'data_base64': %s",
                       err.msg);
        goto out;
    }
    u->file = u->owned;
    set_filename(u, json_string_value(fn), json_string_length(fn));
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* Fills `u` from the query string and the body (whose fields win). 0, or -1 after answering. */
static int parse_upload(struct sb_http_req *r, struct upload *u, int api)
{
    memset(u, 0, sizeof(*u));
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const struct field *f = &fields[i];
        if (f->api_only && !api)
            continue;
        char v[MAX_TEXT_BYTES + 2];
        if (!sb__http_query(r, f->name, v, sizeof(v)))
            continue;
        if (field_set(r, u, f, v, strlen(v), "query parameter"))
            return -1;
    }
    if (!r->body || r->body_len == 0) {
        sb__http_error(r, SB_EINVAL, "request body: expected the file");
        return -1;
    }
    if (strncasecmp(r->content_type, "multipart/", 10) == 0)
        return parse_multipart(r, u, api);
    if (strncasecmp(r->content_type, "application/json", 16) == 0)
        return parse_json(r, u, api);
    if (r->body_len > SB__ATTACH_MAX_BYTES) {
        sb__http_error(r, SB_ETOOBIG, "attachments are limited to %d bytes",
                       SB__ATTACH_MAX_BYTES);
        return -1;
    }
    u->file = (const unsigned char *)r->body;
    u->n = r->body_len;
    return 0;
}

/* ---- upload: checks, storage, message ---- */

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

/* The accepted types (sniffed), and the part type each becomes. */
static const char *accepted_kind(const char *mime)
{
    if (!strcmp(mime, "image/jpeg") || !strcmp(mime, "image/png") || !strcmp(mime, "image/webp"))
        return "image";
    if (!strcmp(mime, "audio/x-wav") || !strcmp(mime, "audio/wav"))
        return "audio";
    return NULL;
}

/* Checks, strips and stores the file of `u`, then ingests the message. `in` has the channel
 * fields set. */
static void attach(struct sb_http_req *r, struct upload *u, struct sb_ingest *in,
                   int bind_visitor)
{
    char mime[64];
    if (u->kind[0] && strcmp(u->kind, "image") && strcmp(u->kind, "audio")) {
        sb__http_error(r, SB_EINVAL, "field 'kind' must be image or audio");
        return;
    }
    if (u->grammar[0] && strcmp(u->grammar, "digits") && strcmp(u->grammar, "yesno")) {
        sb__http_error(r, SB_EINVAL, "field 'grammar' must be digits or yesno");
        return;
    }
    if (u->n == 0) {
        sb__http_error(r, SB_EINVAL, "the file is empty");
        return;
    }
    if (u->n > SB__ATTACH_MAX_BYTES) {
        sb__http_error(r, SB_ETOOBIG, "attachments are limited to %d bytes",
                       SB__ATTACH_MAX_BYTES);
        return;
    }
    sb_media_sniff(u->file, u->n, mime, sizeof(mime));
    const char *type = accepted_kind(mime);
    if (!type) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "unsupported file type %s: send a JPEG, PNG or WebP image or a WAV voice note",
                 mime);
        unsupported(r, msg);
        return;
    }
    if (u->kind[0] && strcmp(u->kind, type)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the file is %s, not %s", mime, u->kind);
        unsupported(r, msg);
        return;
    }
    const unsigned char *bytes = u->file;
    size_t n = u->n;
    unsigned char *stripped = NULL;
    if (strcmp(type, "image") == 0) {
        /* what cannot be walked is not kept: see include/sb/media_strip.h */
        stripped = sb_malloc(n);
        size_t m = 0;
        struct sb_error serr = {0};
        struct sb_strip_report rep;
        if (sb_media_strip(mime, bytes, n, stripped, &m, &rep, &serr) == 0) {
            bytes = stripped;
            n = m;
            if (rep.truncated)
                SB_LOG(SB_LOG_INFO, "api", "attachment %s: broken structure, kept %zu of %zu "
                       "bytes", mime, m, u->n);
        } else {
            free(stripped);
            sb__http_error(r, SB_EINVAL, "the %s file cannot be read: %s", mime, serr.msg);
            return;
        }
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
    if (u->filename[0])
        json_object_set_new(part, "name", json_string(u->filename));
    if (u->grammar[0])
        json_object_set_new(part, "grammar", json_string(u->grammar));
    json_t *parts = json_array();
    json_array_append(parts, part);
    if (u->text[0]) {
        json_t *t = json_object();
        json_object_set_new(t, "type", json_string("text"));
        json_object_set_new(t, "text", json_string(u->text));
        json_array_append_new(parts, t);
    }
    char *parts_json = json_dumps(parts, JSON_COMPACT);
    json_decref(parts);
    in->text = u->text;
    in->parts_json = parts_json;
    if (u->message_id[0])
        in->provider_msg_id = u->message_id;

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
    struct upload *u = sb_calloc(1, sizeof(*u));
    if (parse_upload(r, u, 0) == 0) {
        char default_name[48];
        snprintf(default_name, sizeof(default_name), "Visitor %.6s", r->who.visitor);
        struct sb_ingest in = {
            .tenant_id = r->who.tenant_id,
            .inbox_id = r->who.inbox_id,
            .customer_ext_id = r->who.visitor,
            .customer_name = default_name,
        };
        attach(r, u, &in, 1);
    }
    free(u->owned);
    free(u);
}

void sb__api_attachment_post(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_server *s = r->srv;
    struct upload *u = sb_calloc(1, sizeof(*u));
    if (parse_upload(r, u, 1))
        goto out;
    if (!u->customer_id[0]) {
        sb__http_error(r, SB_EINVAL, "field 'customer_id' is required (query or body)");
        goto out;
    }
    sb_id inbox_id = 0;
    if (!u->inbox[0] && r->who.tenant_id == s->opt.default_tenant) {
        inbox_id = s->opt.default_api_inbox;
    } else {
        struct sb_inbox ib = {0};
        struct sb_error err = {0};
        const char *name = u->inbox[0] ? u->inbox : "api";
        int rc = sb_store_inbox_find(s->store, r->who.tenant_id, name, &ib, &err);
        if (rc) {
            if (rc == SB_ENOTFOUND)
                sb__http_error(r, rc, "field 'inbox': no inbox named '%s'", name);
            else
                sb__api_store_error(r, &err, rc);
            goto out;
        }
        inbox_id = ib.id;
        sb_inbox_cleanup(&ib);
    }
    struct sb_ingest in = {
        .tenant_id = r->who.tenant_id,
        .inbox_id = inbox_id,
        .customer_ext_id = u->customer_id,
        .customer_name = u->customer_name[0] ? u->customer_name : NULL,
    };
    attach(r, u, &in, 0);
out:
    free(u->owned);
    free(u);
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

static int valid_key(const char *k)
{
    size_t kl = strlen(k);
    int ok = kl == 64;
    for (size_t i = 0; ok && i < kl; i++)
        ok = (k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f');
    return ok;
}

/* Answers with the stored bytes of r->key in the caller's tenant. */
static void send_media(struct sb_http_req *r)
{
    char path[4200];
    if (!valid_key(r->key) ||
        sb__media_path(r->srv->cfg, r->who.tenant_id, r->key, path, sizeof(path))) {
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
                     "Content-Disposition: inline\r\n"
                     "Cache-Control: private, no-store\r\n");
}

void sb__api_media_get(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    send_media(r);
}

/* 1 when a message the visitor can see (their own, or one sent to them) has a media part
 * with this key. */
static int message_has_media(const struct sb_message *m, const char *key)
{
    if (strcmp(m->sender_kind, SB_SENDER_CUSTOMER) != 0 && strcmp(m->direction, SB_DIR_OUT) != 0)
        return 0;
    if (!m->parts_json || !strstr(m->parts_json, key))
        return 0;
    json_t *parts = json_loads(m->parts_json, 0, NULL);
    size_t i;
    json_t *p;
    int found = 0;
    json_array_foreach(parts, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *media = json_string_value(json_object_get(p, "media"));
        if (type && media && (!strcmp(type, "image") || !strcmp(type, "audio")) &&
            !strcmp(media, key)) {
            found = 1;
            break;
        }
    }
    json_decref(parts);
    return found;
}

#define VISITOR_MEDIA_CONVERSATIONS 20
#define VISITOR_MEDIA_MESSAGES 500

/* A visitor may download media of their own conversations (the latest 20, up to 500 messages
 * each): the parts of a message must name it, not just any text. */
void sb__api_widget_media_get(struct sb_http_req *r, const sb_id *id)
{
    (void)id;
    struct sb_server *s = r->srv;
    if (!valid_key(r->key)) {
        sb__http_error(r, SB_ENOTFOUND, "no such media");
        return;
    }
    int found = 0;
    struct sb_contact c = {0};
    if (sb_store_contact_find(s->store, r->who.tenant_id, r->who.inbox_id, r->who.visitor, &c,
                              NULL) == 0) {
        struct sb_conversation *cs = NULL;
        size_t n = 0;
        struct sb_conversation_filter f = {.contact_id = c.id,
                                           .limit = VISITOR_MEDIA_CONVERSATIONS};
        if (sb_store_conversation_list(s->store, r->who.tenant_id, &f, &cs, &n, NULL) == 0) {
            for (size_t i = 0; i < n && !found; i++) {
                struct sb_message *ms = NULL;
                size_t nm = 0;
                if (sb_store_message_list(s->store, r->who.tenant_id, cs[i].id, 0,
                                          VISITOR_MEDIA_MESSAGES, &ms, &nm, NULL) != 0)
                    continue;
                for (size_t j = 0; j < nm && !found; j++)
                    found = message_has_media(&ms[j], r->key);
                sb_message_list_free(ms, nm);
            }
            sb_conversation_list_free(cs, n);
        }
        sb_contact_cleanup(&c);
    }
    if (!found) {
        sb__http_error(r, SB_ENOTFOUND, "no such media");
        return;
    }
    send_media(r);
}
