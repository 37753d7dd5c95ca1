#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
#include <curl/curl.h>

/* Swift cannot call C variadic functions: one typed wrapper per argument kind of
   curl_easy_setopt / curl_easy_getinfo. Each returns libcurl's own result code. */

static inline CURLcode snaporch_curl_set_long(CURL *easy, CURLoption option, long value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_set_offset(CURL *easy, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_set_pointer(CURL *easy, CURLoption option, void *value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_set_string(CURL *easy, CURLoption option, const char *value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_set_list(CURL *easy, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(easy, option, value);
}

/* The shape of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION. */
typedef size_t (*snaporch_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode snaporch_curl_set_callback(CURL *easy, CURLoption option, snaporch_curl_data_callback value) {
    return curl_easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_get_long(CURL *easy, CURLINFO info, long *value) {
    return curl_easy_getinfo(easy, info, value);
}

static inline CURLcode snaporch_curl_get_pointer(CURL *easy, CURLINFO info, void **value) {
    return curl_easy_getinfo(easy, info, value);
}

/* The result code of a finished transfer (CURLMsg.data is a union). */
static inline CURLcode snaporch_curl_message_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
