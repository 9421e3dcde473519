/*
 * testhost: loads a Fluent Bit Go output plugin (.so) the way Fluent Bit 5.x
 * does and drives it, so the plugin's C ABI is tested without Fluent Bit.
 *
 * What it mimics (read from fluent-bit include/fluent-bit/flb_plugin_proxy.h,
 * flb_api.h and src/proxy/go/go.{h,c}):
 *   - dlopen(RTLD_LAZY), FLBPluginRegister(def) filling a
 *     struct flb_plugin_proxy_def (type 2 = output, proxy 11 = Go);
 *   - FLBPluginInit(plugin) once per instance, one after another, with a
 *     struct flbgo_output_plugin whose api->output_get_property(key, o_ins)
 *     answers the instance's properties without case; success is rc > 0;
 *   - FLBPluginFlushCtx(remote_context, data, size, tag) run inside a
 *     coroutine with a small stack (Fluent Bit's libco coroutines: 64 KiB on
 *     x86_64 Linux, the FLB_CORO_STACK_SIZE_MIN_BYTE floor over
 *     3 * PTHREAD_STACK_MIN / 2), on worker threads when -w > 1 so flushes
 *     overlap as with the `workers` option;
 *   - FLBPluginExitCtx(remote_context) per instance, FLBPluginUnregister(def).
 *
 * Usage:
 *   testhost -e out_ferry.so [-s stack_bytes] [-w workers] [-r retries] [-d retry_ms]
 *            [-p key=value ...] [-i -p key=value ...] [-t tag] [-f [instance:]chunk.mp ...]
 *
 *   -i  starts the next instance; -p sets a property of the current one.
 *   -f  queues a flush of a chunk file to an instance (default: the current).
 *   -t  sets the tag of the flushes queued after it (default "test").
 *   -r  re-flushes a chunk answered 2 (retry) up to N more times, -d ms apart,
 *       like Fluent Bit's scheduler (default 0: report the first answer).
 *
 * Output, one machine-readable line per event on stdout:
 *   register rc=0 type=2 proxy=11 name=ferry
 *   init instance=0 rc=1
 *   flush instance=0 file=a.mp tag=test attempt=1 rc=1
 *   exit instance=0 rc=1
 *   unregister
 * Exit status: 0, or 2 when an Init failed, 1 on usage or loading errors.
 *
 * Build: gcc -O2 -Wall -o testhost testhost.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ucontext.h>
#include <unistd.h>

#define FLB_PROXY_OUTPUT_PLUGIN 2
#define FLB_PROXY_GOLANG 11
#define MAX_INSTANCES 16
#define MAX_PROPS 64
#define MAX_FLUSHES 1024
#define DEFAULT_CORO_STACK (64 * 1024)

/* include/fluent-bit/flb_plugin_proxy.h */
struct flb_plugin_proxy_def {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
    int event_type;
    void *config_map;
};

struct flb_plugin_proxy_context {
    void *remote_context;
    void *proxy;
};

/* include/fluent-bit/flb_api.h */
struct flb_api {
    const char *(*output_get_property)(const char *, void *);
    const char *(*input_get_property)(const char *, void *);
    void *(*output_get_cmt_instance)(void *);
    void *(*input_get_cmt_instance)(void *);
    void (*log_print)(int, const char *, int, const char *, ...);
    int (*input_log_check)(void *, int);
    int (*output_log_check)(void *, int);
    const char *(*custom_get_property)(const char *, void *);
    int (*custom_log_check)(void *, int);
};

/* src/proxy/go/go.h */
struct flbgo_output_plugin {
    char *name;
    void *api;
    void *o_ins;
    struct flb_plugin_proxy_context *context;
    int (*cb_init)(struct flbgo_output_plugin *);
    int (*cb_flush)(const void *, size_t, const char *);
    int (*cb_flush_ctx)(void *, const void *, size_t, char *);
    int (*cb_exit)(void);
    int (*cb_exit_ctx)(void *);
};

/* The host's output instance: what o_ins points to. */
struct instance {
    int id;
    int nprops;
    char *keys[MAX_PROPS];
    char *values[MAX_PROPS];
    int init_rc;
    struct flb_plugin_proxy_context context;
    struct flbgo_output_plugin plugin;
};

struct flush_job {
    int instance;
    const char *file;
    const char *tag;
};

static struct instance instances[MAX_INSTANCES];
static int ninstances = 1;
static struct flush_job jobs[MAX_FLUSHES];
static int njobs;
static int next_job;
static int retries;
static int retry_ms = 200;
static size_t coro_stack = DEFAULT_CORO_STACK;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int (*flush_ctx)(void *, const void *, size_t, char *);

static const char *output_get_property(const char *key, void *o_ins)
{
    struct instance *ins = o_ins;
    for (int i = ins->nprops - 1; i >= 0; i--) { /* the last setting wins */
        if (strcasecmp(ins->keys[i], key) == 0) {
            return ins->values[i];
        }
    }
    return NULL;
}

static void log_print(int level, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[testhost log level=%d %s:%d] ", level, file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int log_check(void *ins, int level)
{
    (void) ins;
    (void) level;
    return 1;
}

static struct flb_api api = {
    .output_get_property = output_get_property,
    .log_print = log_print,
    .output_log_check = log_check,
};

static int read_file(const char *path, char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

/* One flush inside a coroutine: the state the trampoline reads. */
struct coro_call {
    void *remote_context;
    const char *data;
    size_t size;
    char *tag;
    int rc;
    ucontext_t caller;
    ucontext_t callee;
};

static __thread struct coro_call *current_call;

static void coro_trampoline(void)
{
    struct coro_call *c = current_call;
    c->rc = flush_ctx(c->remote_context, c->data, c->size, c->tag);
    /* returning resumes uc_link: the caller */
}

static int flush_on_coroutine(void *remote_context, const char *data, size_t size, const char *tag)
{
    struct coro_call call = {.remote_context = remote_context, .data = data, .size = size, .rc = -1};
    void *stack = malloc(coro_stack);
    /* Fluent Bit passes a copy of the tag that it frees after the call. */
    call.tag = strdup(tag);
    if (!stack || !call.tag) {
        free(stack);
        free(call.tag);
        return -1;
    }
    getcontext(&call.callee);
    call.callee.uc_stack.ss_sp = stack;
    call.callee.uc_stack.ss_size = coro_stack;
    call.callee.uc_link = &call.caller;
    makecontext(&call.callee, coro_trampoline, 0);
    current_call = &call;
    swapcontext(&call.caller, &call.callee);
    current_call = NULL;
    /* The plugin must not keep these: scribble over them before freeing. */
    memset(call.tag, 'X', strlen(call.tag));
    free(call.tag);
    free(stack);
    return call.rc;
}

static void *flush_worker(void *arg)
{
    (void) arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        int j = next_job < njobs ? next_job++ : -1;
        pthread_mutex_unlock(&lock);
        if (j < 0) {
            return NULL;
        }
        struct flush_job *job = &jobs[j];
        struct instance *ins = &instances[job->instance];
        if (ins->init_rc <= 0) {
            pthread_mutex_lock(&lock);
            printf("flush instance=%d file=%s tag=%s attempt=0 rc=skipped-init-failed\n", job->instance, job->file, job->tag);
            fflush(stdout);
            pthread_mutex_unlock(&lock);
            continue;
        }
        char *data;
        size_t size;
        if (read_file(job->file, &data, &size) != 0) {
            pthread_mutex_lock(&lock);
            printf("flush instance=%d file=%s tag=%s attempt=0 rc=unreadable errno=%d\n", job->instance, job->file, job->tag, errno);
            fflush(stdout);
            pthread_mutex_unlock(&lock);
            continue;
        }
        for (int attempt = 1; attempt <= retries + 1; attempt++) {
            int rc = flush_on_coroutine(ins->context.remote_context, data, size, job->tag);
            pthread_mutex_lock(&lock);
            printf("flush instance=%d file=%s tag=%s attempt=%d rc=%d\n", job->instance, job->file, job->tag, attempt, rc);
            fflush(stdout);
            pthread_mutex_unlock(&lock);
            if (rc != 2) {
                break;
            }
            usleep((useconds_t) retry_ms * 1000);
        }
        /* Fluent Bit reuses chunk memory: the plugin must have copied it. */
        memset(data, 0xc1, size);
        free(data);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: testhost -e plugin.so [-s stack_bytes] [-w workers] [-r retries] [-d retry_ms]\n"
                    "                [-p key=value ...] [-i -p key=value ...] [-t tag] [-f [instance:]chunk.mp ...]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    const char *so = NULL;
    const char *tag = "test";
    int workers = 1;
    int opt;

    while ((opt = getopt(argc, argv, "e:p:if:t:s:w:r:d:")) != -1) {
        struct instance *cur = &instances[ninstances - 1];
        switch (opt) {
        case 'e':
            so = optarg;
            break;
        case 'i':
            if (ninstances == MAX_INSTANCES) {
                usage();
            }
            ninstances++;
            break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            if (!eq || cur->nprops == MAX_PROPS) {
                usage();
            }
            cur->keys[cur->nprops] = strndup(optarg, (size_t) (eq - optarg));
            cur->values[cur->nprops] = strdup(eq + 1);
            cur->nprops++;
            break;
        }
        case 't':
            tag = optarg;
            break;
        case 'f': {
            if (njobs == MAX_FLUSHES) {
                usage();
            }
            char *colon = strchr(optarg, ':');
            char *end;
            long idx = colon ? strtol(optarg, &end, 10) : -1;
            if (colon && end == colon) {
                if (idx < 0 || idx >= MAX_INSTANCES) {
                    usage();
                }
                jobs[njobs].instance = (int) idx;
                jobs[njobs].file = colon + 1;
            } else {
                jobs[njobs].instance = ninstances - 1;
                jobs[njobs].file = optarg;
            }
            jobs[njobs].tag = tag;
            njobs++;
            break;
        }
        case 's':
            coro_stack = (size_t) strtoul(optarg, NULL, 10);
            if (coro_stack < 16 * 1024) {
                usage();
            }
            break;
        case 'w':
            workers = atoi(optarg);
            if (workers < 1 || workers > 64) {
                usage();
            }
            break;
        case 'r':
            retries = atoi(optarg);
            break;
        case 'd':
            retry_ms = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!so) {
        usage();
    }
    for (int j = 0; j < njobs; j++) {
        if (jobs[j].instance >= ninstances) {
            fprintf(stderr, "testhost: -f names instance %d, only %d defined\n", jobs[j].instance, ninstances);
            return 1;
        }
    }

    void *dso = dlopen(so, RTLD_LAZY);
    if (!dso) {
        fprintf(stderr, "testhost: dlopen: %s\n", dlerror());
        return 1;
    }
    int (*cb_register)(struct flb_plugin_proxy_def *) = (int (*)(struct flb_plugin_proxy_def *)) dlsym(dso, "FLBPluginRegister");
    int (*cb_init)(struct flbgo_output_plugin *) = (int (*)(struct flbgo_output_plugin *)) dlsym(dso, "FLBPluginInit");
    int (*cb_exit_ctx)(void *) = (int (*)(void *)) dlsym(dso, "FLBPluginExitCtx");
    void (*cb_unregister)(struct flb_plugin_proxy_def *) = (void (*)(struct flb_plugin_proxy_def *)) dlsym(dso, "FLBPluginUnregister");
    flush_ctx = (int (*)(void *, const void *, size_t, char *)) dlsym(dso, "FLBPluginFlushCtx");
    if (!cb_register || !cb_init || !flush_ctx || !cb_exit_ctx) {
        fprintf(stderr, "testhost: the plugin lacks FLBPluginRegister, FLBPluginInit, FLBPluginFlushCtx or FLBPluginExitCtx\n");
        return 1;
    }

    struct flb_plugin_proxy_def *def = calloc(1, sizeof(*def));
    int rc = cb_register(def);
    printf("register rc=%d type=%d proxy=%d name=%s\n", rc, def->type, def->proxy, def->name ? def->name : "(null)");
    fflush(stdout);
    if (rc == -1 || def->type != FLB_PROXY_OUTPUT_PLUGIN || def->proxy != FLB_PROXY_GOLANG || !def->name) {
        fprintf(stderr, "testhost: registration did not describe a Go output plugin\n");
        return 1;
    }

    int init_failed = 0;
    for (int i = 0; i < ninstances; i++) {
        struct instance *ins = &instances[i];
        ins->id = i;
        ins->context.remote_context = NULL;
        ins->plugin.name = def->name;
        ins->plugin.api = &api;
        ins->plugin.o_ins = ins;
        ins->plugin.context = &ins->context;
        ins->init_rc = cb_init(&ins->plugin);
        printf("init instance=%d rc=%d\n", i, ins->init_rc);
        fflush(stdout);
        if (ins->init_rc <= 0) {
            init_failed = 1;
        }
    }

    pthread_t threads[64];
    int nthreads = workers < njobs ? workers : njobs;
    for (int t = 0; t < nthreads; t++) {
        pthread_create(&threads[t], NULL, flush_worker, NULL);
    }
    for (int t = 0; t < nthreads; t++) {
        pthread_join(threads[t], NULL);
    }

    for (int i = 0; i < ninstances; i++) {
        if (instances[i].init_rc <= 0) {
            continue;
        }
        rc = cb_exit_ctx(instances[i].context.remote_context);
        printf("exit instance=%d rc=%d\n", i, rc);
        fflush(stdout);
    }
    if (cb_unregister) {
        cb_unregister(def);
        printf("unregister\n");
    }
    fflush(stdout);
    /* Like Fluent Bit, never dlclose a Go plugin: the Go runtime cannot unload. */
    return init_failed ? 2 : 0;
}
