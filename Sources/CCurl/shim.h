#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

/* libcurl is loaded on first use (dlopen), not at process start: linked directly, it brought ~30
   shared libraries (TLS, Kerberos, LDAP, ...) into every command, the freeze guard included (+5 to
   7 MiB resident, several ms of start-up). The binary takes only libcurl's headers; every function
   it calls goes through this table, filled once by `snaporch_curl_load`. */
struct snaporch_curl_api {
    int loaded;
    CURLcode (*global_init)(long flags);
    const char *(*easy_strerror)(CURLcode code);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *easy);
    CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
    void (*slist_free_all)(struct curl_slist *list);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_perform)(CURLM *multi, int *running);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    CURLMcode (*multi_poll)(CURLM *multi, struct curl_waitfd *extra, unsigned count, int timeout, int *ready);
    CURLMcode (*multi_wakeup)(CURLM *multi);
};

/* The table (a function-local static: Swift emits those with the function, not file-level ones). */
static inline struct snaporch_curl_api *snaporch_curl_table(void) {
    static struct snaporch_curl_api table;
    return &table;
}

static inline void snaporch_curl_resolve(void) {
    struct snaporch_curl_api *t = snaporch_curl_table();
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
#define SNAPORCH_CURL_SYMBOL(field, name) \
    *(void **)(&t->field) = dlsym(lib, name); \
    if (!t->field) return;
    SNAPORCH_CURL_SYMBOL(global_init, "curl_global_init")
    SNAPORCH_CURL_SYMBOL(easy_strerror, "curl_easy_strerror")
    SNAPORCH_CURL_SYMBOL(easy_init, "curl_easy_init")
    SNAPORCH_CURL_SYMBOL(easy_cleanup, "curl_easy_cleanup")
    SNAPORCH_CURL_SYMBOL(easy_setopt, "curl_easy_setopt")
    SNAPORCH_CURL_SYMBOL(easy_getinfo, "curl_easy_getinfo")
    SNAPORCH_CURL_SYMBOL(slist_append, "curl_slist_append")
    SNAPORCH_CURL_SYMBOL(slist_free_all, "curl_slist_free_all")
    SNAPORCH_CURL_SYMBOL(multi_init, "curl_multi_init")
    SNAPORCH_CURL_SYMBOL(multi_add_handle, "curl_multi_add_handle")
    SNAPORCH_CURL_SYMBOL(multi_remove_handle, "curl_multi_remove_handle")
    SNAPORCH_CURL_SYMBOL(multi_perform, "curl_multi_perform")
    SNAPORCH_CURL_SYMBOL(multi_info_read, "curl_multi_info_read")
    SNAPORCH_CURL_SYMBOL(multi_poll, "curl_multi_poll")
    SNAPORCH_CURL_SYMBOL(multi_wakeup, "curl_multi_wakeup")
#undef SNAPORCH_CURL_SYMBOL
    t->loaded = 1;
}

/* Loads libcurl.so.4 once (thread-safe); returns 1 when every function was found, else 0. The table
   is static: each object file that uses it has its own copy, loaded on its first call (dlopen hands
   out the same library every time). */
static inline int snaporch_curl_load(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, snaporch_curl_resolve);
    return snaporch_curl_table()->loaded;
}

#define SNAPORCH_CURL_API (snaporch_curl_load(), snaporch_curl_table())

/* The functions the agent calls, each after `snaporch_curl_load()` returned 1. */
static inline CURLcode snaporch_curl_global_init(long flags) { return SNAPORCH_CURL_API->global_init(flags); }
static inline const char *snaporch_curl_easy_strerror(CURLcode code) {
    return snaporch_curl_load() ? snaporch_curl_table()->easy_strerror(code) : "libcurl is not available";
}
static inline CURL *snaporch_curl_easy_init(void) { return SNAPORCH_CURL_API->easy_init(); }
static inline void snaporch_curl_easy_cleanup(CURL *easy) { SNAPORCH_CURL_API->easy_cleanup(easy); }
static inline struct curl_slist *snaporch_curl_slist_append(struct curl_slist *list, const char *line) {
    return SNAPORCH_CURL_API->slist_append(list, line);
}
static inline void snaporch_curl_slist_free_all(struct curl_slist *list) { SNAPORCH_CURL_API->slist_free_all(list); }
static inline CURLM *snaporch_curl_multi_init(void) { return SNAPORCH_CURL_API->multi_init(); }
static inline CURLMcode snaporch_curl_multi_add_handle(CURLM *multi, CURL *easy) {
    return SNAPORCH_CURL_API->multi_add_handle(multi, easy);
}
static inline CURLMcode snaporch_curl_multi_remove_handle(CURLM *multi, CURL *easy) {
    return SNAPORCH_CURL_API->multi_remove_handle(multi, easy);
}
static inline CURLMcode snaporch_curl_multi_perform(CURLM *multi, int *running) {
    return SNAPORCH_CURL_API->multi_perform(multi, running);
}
static inline CURLMsg *snaporch_curl_multi_info_read(CURLM *multi, int *left) {
    return SNAPORCH_CURL_API->multi_info_read(multi, left);
}
static inline CURLMcode snaporch_curl_multi_poll(CURLM *multi, int timeout) {
    return SNAPORCH_CURL_API->multi_poll(multi, NULL, 0, timeout, NULL);
}
static inline CURLMcode snaporch_curl_multi_wakeup(CURLM *multi) { return SNAPORCH_CURL_API->multi_wakeup(multi); }

/* Swift cannot call C variadic functions: one typed wrapper per argument kind of
   curl_easy_setopt / curl_easy_getinfo. Each returns libcurl's own result code. */

static inline CURLcode snaporch_curl_set_long(CURL *easy, CURLoption option, long value) {
    return SNAPORCH_CURL_API->easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_set_offset(CURL *easy, CURLoption option, curl_off_t value) {
    return SNAPORCH_CURL_API->easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_set_pointer(CURL *easy, CURLoption option, void *value) {
    return SNAPORCH_CURL_API->easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_set_string(CURL *easy, CURLoption option, const char *value) {
    return SNAPORCH_CURL_API->easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_set_list(CURL *easy, CURLoption option, struct curl_slist *value) {
    return SNAPORCH_CURL_API->easy_setopt(easy, option, value);
}

/* The shape of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION. */
typedef size_t (*snaporch_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode snaporch_curl_set_callback(CURL *easy, CURLoption option, snaporch_curl_data_callback value) {
    return SNAPORCH_CURL_API->easy_setopt(easy, option, value);
}

static inline CURLcode snaporch_curl_get_long(CURL *easy, CURLINFO info, long *value) {
    return SNAPORCH_CURL_API->easy_getinfo(easy, info, value);
}

static inline CURLcode snaporch_curl_get_pointer(CURL *easy, CURLINFO info, void **value) {
    return SNAPORCH_CURL_API->easy_getinfo(easy, info, value);
}

/* The result code of a finished transfer (CURLMsg.data is a union). */
static inline CURLcode snaporch_curl_message_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
