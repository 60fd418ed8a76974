/* The ceilings make bench compares this module with (bench/README in
 * BENCHMARKS.md):
 *
 *   ceiling seq URL N [CA]          one easy handle, one keep-alive connection,
 *                                   one constant pre-signed request posted N times
 *   ceiling multi URL N INFLIGHT [CA]  a multi handle with INFLIGHT transfers of
 *                                   that request in flight until N are done
 *   ceiling hash BYTES REPS         OpenSSL alone: SHA-256 and base64 of BYTES bytes
 *
 * Each prints one line "n=<count> wall=<s> cpu=<s>" (cpu: this process's
 * user+sys time from getrusage, for the measured part only). The request is
 * the one the module sends for the benchmark's text message, with the same
 * headers; the endpoint does not check the signature, so it is computed once.
 * No Lua here. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "ceiling: %s\n", what);
  exit(1);
}

/* base64 of {"messaging_product":"whatsapp","text":{"body":"benchmark"},"to":"+14255550123","type":"text"} */
static const char BODY[] =
    "{\"message\":\"eyJtZXNzYWdpbmdfcHJvZHVjdCI6IndoYXRzYXBwIiwidGV4dCI6eyJib2R5IjoiYmVuY2htYXJrIn0s"
    "InRvIjoiKzE0MjU1NTUwMTIzIiwidHlwZSI6InRleHQifQ==\",\"metaApiVersion\":\"v20.0\","
    "\"originationPhoneNumberId\":\"phone-number-id-0123456789abcdef0123456789abcdef\"}";

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
}

static struct curl_slist *headers(const char *url) {
  struct curl_slist *h = NULL;
  char host[256];
  const char *a = strstr(url, "://"), *e;
  if (a == NULL) die("bad URL");
  a += 3;
  e = strchr(a, '/');
  if (e == NULL) e = a + strlen(a);
  if ((size_t)(e - a) >= sizeof host - 7) die("bad URL");
  memcpy(host, "Host: ", 6);
  memcpy(host + 6, a, (size_t)(e - a));
  host[6 + (e - a)] = '\0';
  h = curl_slist_append(h, host);
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "X-Amz-Date: 20260101T000000Z");
  h = curl_slist_append(h,
                        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDSTANDINEXAMPLE/20260101/us-east-1/"
                        "social-messaging/aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  h = curl_slist_append(h, "Accept: application/json");
  h = curl_slist_append(h, "Expect:");
  if (h == NULL) die("out of memory");
  return h;
}

static CURL *easy(const char *url, struct curl_slist *h, const char *ca) {
  CURL *c = curl_easy_init();
  if (c == NULL) die("curl_easy_init");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, BODY);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(sizeof BODY - 1));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ceiling/1.0");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  /* over TLS wait for ALPN to say whether the connection multiplexes
   * (HTTP/2); plain http is HTTP/1.1, where waiting would serialize */
  if (strncmp(url, "https:", 6) == 0) curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
  if (ca) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
  return c;
}

static void check(CURL *c, CURLcode rc) {
  long status = 0;
  if (rc != CURLE_OK) die(curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) die("the endpoint did not answer 200");
}

static int seq(const char *url, long n, const char *ca) {
  struct curl_slist *h = headers(url);
  CURL *c = easy(url, h, ca);
  double t0, c0;
  long i;
  check(c, curl_easy_perform(c)); /* connect once, outside the measure */
  t0 = now();
  c0 = cpu();
  for (i = 0; i < n; i++) check(c, curl_easy_perform(c));
  printf("n=%ld wall=%.6f cpu=%.6f\n", n, now() - t0, cpu() - c0);
  curl_easy_cleanup(c);
  curl_slist_free_all(h);
  return 0;
}

static int multi(const char *url, long n, long inflight, const char *ca) {
  struct curl_slist *h = headers(url);
  CURLM *m = curl_multi_init();
  CURL **hs;
  long started = 0, done = 0, i;
  int running = 0;
  double t0, c0;
  if (m == NULL || inflight < 1) die("curl_multi_init");
  hs = calloc((size_t)inflight, sizeof *hs);
  if (hs == NULL) die("out of memory");
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, inflight);
  t0 = now();
  c0 = cpu();
  for (i = 0; i < inflight && started < n; i++, started++) {
    hs[i] = easy(url, h, ca);
    curl_multi_add_handle(m, hs[i]);
  }
  while (done < n) {
    CURLMsg *msg;
    int left;
    if (curl_multi_perform(m, &running) != CURLM_OK) die("curl_multi_perform");
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      CURL *c;
      if (msg->msg != CURLMSG_DONE) continue;
      c = msg->easy_handle;
      check(c, msg->data.result);
      done++;
      curl_multi_remove_handle(m, c);
      if (started < n) {
        started++;
        curl_multi_add_handle(m, c);
      }
    }
    if (done < n && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK) die("curl_multi_poll");
  }
  printf("n=%ld wall=%.6f cpu=%.6f\n", n, now() - t0, cpu() - c0);
  for (i = 0; i < inflight; i++)
    if (hs[i]) curl_easy_cleanup(hs[i]);
  free(hs);
  curl_multi_cleanup(m);
  curl_slist_free_all(h);
  return 0;
}

static int hash(long bytes, long reps) {
  unsigned char *in = malloc((size_t)bytes), md[32];
  char *out = malloc((size_t)(4 * ((bytes + 2) / 3) + 1));
  unsigned int mdlen;
  double t0, c0;
  long i;
  if (in == NULL || out == NULL) die("out of memory");
  for (i = 0; i < bytes; i++) in[i] = (unsigned char)('a' + i % 26);
  EVP_Digest(in, (size_t)bytes, md, &mdlen, EVP_sha256(), NULL); /* warm up */
  t0 = now();
  c0 = cpu();
  for (i = 0; i < reps; i++) {
    EVP_Digest(in, (size_t)bytes, md, &mdlen, EVP_sha256(), NULL);
    EVP_EncodeBlock((unsigned char *)out, in, (int)bytes);
  }
  printf("n=%ld wall=%.6f cpu=%.6f\n", reps, now() - t0, cpu() - c0);
  free(in);
  free(out);
  return 0;
}

int main(int argc, char **argv) {
  int rc;
  if (argc < 2) die("usage: ceiling seq URL N [CA] | multi URL N INFLIGHT [CA] | hash BYTES REPS");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) die("curl_global_init");
  if (strcmp(argv[1], "seq") == 0 && argc >= 4) rc = seq(argv[2], atol(argv[3]), argc > 4 ? argv[4] : NULL);
  else if (strcmp(argv[1], "multi") == 0 && argc >= 5)
    rc = multi(argv[2], atol(argv[3]), atol(argv[4]), argc > 5 ? argv[5] : NULL);
  else if (strcmp(argv[1], "hash") == 0 && argc >= 4) rc = hash(atol(argv[2]), atol(argv[3]));
  else die("usage: ceiling seq URL N [CA] | multi URL N INFLIGHT [CA] | hash BYTES REPS");
  curl_global_cleanup();
  return rc;
}
