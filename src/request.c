/* The SendWhatsAppMessage request builder (request.h): the AWS body, the
 * SigV4 signature and the header lines of one send. No Lua. */
#include "request.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"

int wa_has_crlf(const char *s, size_t n) {
  return memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL || memchr(s, '\0', n) != NULL;
}

int wa_add_line(wa_buf *b, const char *a, const char *v, size_t vlen) {
  if (wa_buf_addstr(b, a) || wa_buf_add(b, v, vlen) || wa_buf_addc(b, '\0')) return -1;
  return 0;
}

/* X-Amz-Date for now + offset, formatted again only when the second changes. */
static const char *amz_date(wa_sender *s, long offset_seconds) {
  time_t now = time(NULL) + (time_t)offset_seconds;
  if (now != s->date_at || s->amz_date[0] == '\0') {
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL || strftime(s->amz_date, sizeof s->amz_date, "%Y%m%dT%H%M%SZ", &tm) != 16) {
      s->amz_date[0] = '\0';
      return NULL;
    }
    s->date_at = now;
  }
  return s->amz_date;
}

static int refuse(wa_failure *f, const char *message, const char *field) {
  f->kind = "invalid";
  f->message = message;
  f->field = field;
  return WA_BUILD_FAILED;
}

/* A refusal before the body is built: the JSON text is no longer needed. */
static int refuse_message(wa_sender *s, wa_failure *f, const char *message, const char *field) {
  wa_trim(&s->json.text, 0);
  wa_trim(&s->text, 0);
  return refuse(f, message, field);
}

int wa_request_build(wa_sender *s, const char *msg, size_t msg_len, const wa_send_args *a, wa_request *r,
                     wa_failure *f) {
  size_t b64_len;
  const char *date;
  char payload_hash[65];
  int rc;

  if (msg_len > s->max_message_bytes) {
    snprintf(f->why, sizeof f->why, "at most %lu bytes of JSON before base64 (got %lu)",
             (unsigned long)s->max_message_bytes, (unsigned long)msg_len);
    return refuse_message(s, f, f->why, "message");
  }
  /* Lua checks these first; the C API guards any other caller. They go into
   * the JSON body, which must be UTF-8 or the service refuses it whole. */
  if (!wa_utf8_valid(a->id, a->id_len) || !wa_utf8_valid(a->ver, a->ver_len))
    return refuse_message(s, f, "must be valid UTF-8",
                          wa_utf8_valid(a->id, a->id_len) ? "meta_api_version" : "phone_number_id");
  /* A CR or LF in a credential would inject a header line. */
  if (wa_has_crlf(a->akid, a->akid_len) || wa_has_crlf(a->secret, a->secret_len) ||
      (a->token && wa_has_crlf(a->token, a->token_len)))
    return refuse_message(s, f, "must not contain CR or LF", "credentials");

  /* 2. the AWS body: {"message":"<base64>","metaApiVersion":..,"originationPhoneNumberId":..} */
  b64_len = wa_base64_len(msg_len);
  wa_buf_clear(&r->body);
  if (wa_buf_reserve(&r->body, b64_len + a->id_len + a->ver_len + 80) != 0) return WA_BUILD_OOM;
  wa_buf_addstr(&r->body, "{\"message\":\"");
  wa_base64((const unsigned char *)msg, msg_len, r->body.data + r->body.len);
  r->body.len += b64_len;
  wa_trim(&s->json.text, msg_len); /* the JSON text is no longer needed */
  wa_trim(&s->text, msg_len);
  if (wa_buf_addstr(&r->body, "\",\"metaApiVersion\":") || wa_json_add_string(&r->body, a->ver, a->ver_len) ||
      wa_buf_addstr(&r->body, ",\"originationPhoneNumberId\":") ||
      wa_json_add_string(&r->body, a->id, a->id_len) || wa_buf_addc(&r->body, '}'))
    return WA_BUILD_OOM;

  /* 3. sign */
  date = amz_date(s, a->offset);
  if (date == NULL) return refuse(f, "the clock cannot be read", "clock");
  if (wa_hasher_sha256_hex(&s->keys.hasher, r->body.data, r->body.len, payload_hash) != 0) return WA_BUILD_OOM;
  if (!s->fixed_ok) return refuse(f, "cannot sign this request", "credentials");
  rc = sigv4_sign_fixed(&s->fixed, a->akid, a->secret, a->secret_len, a->token, a->token_len, date, payload_hash,
                        &s->keys, &s->sig);
  if (rc == SIGV4_ENOMEM) return WA_BUILD_OOM;
  if (rc != SIGV4_OK) return refuse(f, "cannot sign this request", "credentials");

  /* 4. the header lines, and the list libcurl reads them from */
  wa_buf_clear(&r->lines);
  if (wa_add_line(&r->lines, "Host: ", s->host, s->host_len) ||
      wa_add_line(&r->lines, "Content-Type: ", "application/json", 16) ||
      wa_add_line(&r->lines, "X-Amz-Date: ", date, 16) ||
      (a->token && wa_add_line(&r->lines, "X-Amz-Security-Token: ", a->token, a->token_len)) ||
      wa_add_line(&r->lines, "Authorization: ", s->sig.authorization.data, s->sig.authorization.len) ||
      wa_add_line(&r->lines, "Accept: ", "application/json", 16) ||
      wa_add_line(&r->lines, "Expect:", "", 0))
    return WA_BUILD_OOM;
  r->list = wa_http_list(&r->nodes, &r->lines);
  if (r->list == NULL) return WA_BUILD_OOM;
  return WA_BUILD_OK;
}

void wa_sender_free(wa_sender *s) {
  sigv4_cache_clear(&s->keys);
  sigv4_fixed_free(&s->fixed);
  sigv4_out_free(&s->sig);
  wa_json_scratch_free(&s->json);
  wa_buf_free(&s->text);
}
