// Folder listing and file copying for the local backend without a round trip to JavaScript per
// system call.
//
// A listing costs one readdir per folder and one lstat per item. From JavaScript each of those is
// a separate call with its own object (about 3 us an item here); in C on the thread pool it is the
// system call alone, and the two sides of a sync are listed at the same time on two threads.
// A checked copy is about a dozen system calls (fs-worker.ts says why each one is there); made
// from C in one call they cost half as much, and the times are kept to the nanosecond.
// The portable TypeScript code stays: this file is an accelerator, never a requirement.
//
// Built by build/build-native.mjs against Node-API only, so one build runs on every Node version
// from 20 on, in the main thread and in worker threads.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/openat2.h>
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#endif

// Item kinds, as list() reports them in its meta array; local-storage.ts reads the same numbers.
enum { KIND_FILE = 0, KIND_DIR = 1, KIND_SYMLINK = 2, KIND_SPECIAL = 3 };
// Per item: kind, size, permission bits (doubles); mtime and atime in nanoseconds (int64).
enum { META_PER_ITEM = 3, TIMES_PER_ITEM = 2 };

// Growable byte buffer holding NUL-terminated strings one after the other.
typedef struct {
  char *data;
  size_t len, cap;
} Strings;

typedef struct {
  char *path;
  int follow;  // the root may be a symlink to a folder; folders below it are never followed
  // Results, filled on the thread pool.
  int err;              // errno of the failure, 0 when the listing is complete
  const char *syscall;  // which call failed
  char *err_name;       // the item the failure is about, when it is one item rather than the folder
  int bad_utf8;         // err_name is not valid UTF-8 (err is then 0)
  size_t count, cap;
  double *meta;
  int64_t *times;
  Strings names, targets;  // targets: one per symlink, in listing order
  uint64_t sums[2];         // the folder's summary (see item_hash); meaningless when `special`
  bool special;             // holds a FIFO, socket or device: no summary
} Listing;

// Folders listed by one piece of work on the thread pool: handing work to another thread costs
// about as much as listing a folder of 20 items, so the folders asked for together go together.
typedef struct {
  size_t count;
  Listing *listings;
  napi_deferred deferred;
  napi_async_work work;
} Batch;

static int push_string(Strings *s, const char *str, size_t n) {
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    while (cap < s->len + n + 1) cap *= 2;
    char *grown = realloc(s->data, cap);
    if (!grown) return -1;
    s->data = grown;
    s->cap = cap;
  }
  memcpy(s->data + s->len, str, n);
  s->data[s->len + n] = '\0';
  s->len += n + 1;
  return 0;
}

static int grow_items(Listing *job) {
  size_t cap = job->cap ? job->cap * 2 : 64;
  double *meta = realloc(job->meta, cap * META_PER_ITEM * sizeof(double));
  if (!meta) return -1;
  job->meta = meta;
  int64_t *times = realloc(job->times, cap * TIMES_PER_ITEM * sizeof(int64_t));
  if (!times) return -1;
  job->times = times;
  job->cap = cap;
  return 0;
}

// Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). JavaScript strings would show
// any other name with U+FFFD, a name that cannot be opened again, so such a folder is reported.
static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned min;
    if ((c & 0xe0) == 0xc0) len = 2, min = 0x80, c &= 0x1f;
    else if ((c & 0xf0) == 0xe0) len = 3, min = 0x800, c &= 0x0f;
    else if ((c & 0xf8) == 0xf0) len = 4, min = 0x10000, c &= 0x07;
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      c = (c << 6) | (s[i + k] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    i += len;
  }
  return 1;
}


// ---- folder summaries ---------------------------------------------------------------------------
//
// Two folders whose items have the same names, kinds, sizes, mtimes (to the microsecond), permission
// bits and link texts get the same summary; any difference changes it (but for a chance of about 2^-128). The engine
// compares the summaries of a folder's two sides before building anything from their items, so a
// synced tree costs it one comparison per folder. An item's hash takes every field in turn; the
// folder's is the sum over its items, since two sides list in different orders. Two seeds give two
// independent 64-bit sums. atime is left out: reading a file moves it, and the engine ignores it.

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static uint64_t hash_bytes(uint64_t h, const char *p, size_t n) {
  h = mix64(h ^ (uint64_t)n);
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = mix64(h ^ w);
  }
  uint64_t tail = 0;
  memcpy(&tail, p, n);
  return mix64(h ^ tail);
}

static uint64_t item_hash(uint64_t seed, const char *name, size_t name_len, int kind, double size, int64_t mtime, int mode,
                          const char *target, size_t target_len) {
  uint64_t h = hash_bytes(seed, name, name_len);
  h = mix64(h ^ (uint64_t)kind);
  h = mix64(h ^ (uint64_t)size);
  h = mix64(h ^ (uint64_t)mtime);
  h = mix64(h ^ (uint64_t)mode);
  return hash_bytes(h, target, target_len);
}

static const uint64_t SEEDS[2] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL};

// A time in nanoseconds since 1970, false when it does not fit in 64 bits (before 1677 or after
// 2262): such a folder is listed by the portable code, which has no such limit.
static bool ns_of(struct timespec t, int64_t *out) {
  int64_t v;
  if (__builtin_mul_overflow((int64_t)t.tv_sec, (int64_t)1000000000, &v) || __builtin_add_overflow(v, (int64_t)t.tv_nsec, &v)) return false;
  *out = v;
  return true;
}

// Whether a time is exactly `want` ns; a time too far out for 64 bits never is.
static bool same_ns(struct timespec t, int64_t want) {
  int64_t v;
  return ns_of(t, &v) && v == want;
}

// Floor division, so that times before 1970 land in the same microsecond as the portable code puts them.
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void list_one(Listing *job) {
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (job->follow ? 0 : O_NOFOLLOW);
  int fd = open(job->path, flags);
  if (fd < 0) {
    job->err = errno;
    job->syscall = "open";
    // O_DIRECTORY may answer ENOTDIR before O_NOFOLLOW answers ELOOP: a symlink is always ELOOP.
    struct stat st;
    if (!job->follow && job->err == ENOTDIR && lstat(job->path, &st) == 0 && S_ISLNK(st.st_mode)) job->err = ELOOP;
    return;
  }
  DIR *dir = fdopendir(fd);
  if (!dir) {
    job->err = errno;
    job->syscall = "fdopendir";
    close(fd);
    return;
  }
  char link[PATH_MAX];
  for (;;) {
    errno = 0;
    struct dirent *d = readdir(dir);
    if (!d) {
      if (errno) job->err = errno, job->syscall = "readdir";
      break;
    }
    const char *name = d->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    size_t name_len = strlen(name);
    if (!valid_utf8((const unsigned char *)name, name_len)) {
      job->bad_utf8 = 1;
      job->err_name = strdup(name);
      break;
    }
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since readdir saw it
      job->err = errno;
      job->syscall = "lstat";
      job->err_name = strdup(name);
      break;
    }
    if (job->count == job->cap && grow_items(job) != 0) {
      job->err = ENOMEM, job->syscall = "malloc";
      break;
    }
    int kind = S_ISREG(st.st_mode) ? KIND_FILE : S_ISDIR(st.st_mode) ? KIND_DIR : S_ISLNK(st.st_mode) ? KIND_SYMLINK : KIND_SPECIAL;
    double *m = job->meta + job->count * META_PER_ITEM;
    m[0] = kind;
    m[1] = kind == KIND_FILE ? (double)st.st_size : 0;
    m[2] = st.st_mode & 07777;
    int64_t *t = job->times + job->count * TIMES_PER_ITEM;
    if (!ns_of(st.st_mtim, &t[0]) || !ns_of(st.st_atim, &t[1])) {
      job->err = EOVERFLOW, job->syscall = "lstat", job->err_name = strdup(name);
      break;
    }
    if (push_string(&job->names, name, name_len) != 0) {
      job->err = ENOMEM, job->syscall = "malloc";
      break;
    }
    size_t link_len = 0;
    if (kind == KIND_SYMLINK) {
      // A link that cannot be read is listed with an empty target, as the portable code does.
      ssize_t n = readlinkat(fd, name, link, sizeof link);
      link_len = n > 0 && (size_t)n < sizeof link ? (size_t)n : 0;
      if (push_string(&job->targets, link, link_len) != 0) {
        job->err = ENOMEM, job->syscall = "malloc";
        break;
      }
    }
    if (kind == KIND_SPECIAL) job->special = true;
    // The mtime to the microsecond: times set without the native copy (folders, links) keep no more.
    for (int k = 0; k < 2; k++) job->sums[k] += item_hash(SEEDS[k], name, name_len, kind, m[1], floor_div(t[0], 1000), (int)m[2], link, link_len);
    job->count++;
  }
  closedir(dir);
}

static const char *errno_code(int err) {
  switch (err) {
    case EEXIST: return "EEXIST";
    case EISDIR: return "EISDIR";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EROFS: return "EROFS";
    case EFBIG: return "EFBIG";
    case ENXIO: return "ENXIO";
    case ETXTBSY: return "ETXTBSY";
    case EXDEV: return "EXDEV";
    case ENOTSUP: return "ENOTSUP";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EIO: return "EIO";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ESTALE: return "ESTALE";
    case ENODEV: return "ENODEV";
    case ENOTCONN: return "ENOTCONN";
    case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EMLINK: return "EMLINK";
    case ESRCH: return "ESRCH";
    default: return "EIO";
  }
}

static void set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

// An Error shaped like Node's fs errors (code, syscall, path), so the same mapping serves both.
static napi_value make_error(napi_env env, Listing *job) {
  napi_value error, message, code;
  const char *code_name = job->bad_utf8 ? "EILSEQ" : errno_code(job->err);
  const char *text = job->bad_utf8 ? "name is not valid UTF-8" : strerror(job->err);
  size_t size = strlen(code_name) + strlen(text) + strlen(job->path) + 64;
  char *msg = malloc(size);
  if (msg) snprintf(msg, size, "%s: %s, %s '%s'", code_name, text, job->syscall ? job->syscall : "scandir", job->path);
  napi_create_string_utf8(env, msg ? msg : code_name, NAPI_AUTO_LENGTH, &message);
  free(msg);
  napi_create_string_utf8(env, code_name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_set_named_property(env, error, "code", code);
  set_string(env, error, "syscall", job->syscall ? job->syscall : "scandir");
  set_string(env, error, "path", job->path);
  if (job->err_name) set_string(env, error, "item", job->err_name);
  return error;
}

// All names as one string, each ended by NUL: one conversion instead of one per name.
static napi_value joined(napi_env env, const Strings *s) {
  napi_value str;
  napi_create_string_utf8(env, s->data ? s->data : "", s->len, &str);
  return str;
}

static napi_value typed_copy(napi_env env, napi_typedarray_type type, const void *src, size_t length, size_t width) {
  void *data;
  napi_value buffer, array;
  napi_create_arraybuffer(env, length * width, &data, &buffer);
  if (length) memcpy(data, src, length * width);
  napi_create_typedarray(env, type, length, buffer, 0, &array);
  return array;
}

static void list_execute(napi_env env, void *data) {
  (void)env;
  Batch *batch = data;
  for (size_t i = 0; i < batch->count; i++) list_one(&batch->listings[i]);
}

static void free_listing(Listing *job) {
  free(job->path);
  free(job->err_name);
  free(job->meta);
  free(job->times);
  free(job->names.data);
  free(job->targets.data);
}

static void free_batch(napi_env env, Batch *batch) {
  if (batch->work) napi_delete_async_work(env, batch->work);
  for (size_t i = 0; i < batch->count; i++) free_listing(&batch->listings[i]);
  free(batch->listings);
  free(batch);
}

// One folder's result: [names, meta, times, targets], or the Error that stopped its listing.
static napi_value listing_result(napi_env env, Listing *job) {
  if (job->err || job->bad_utf8) return make_error(env, job);
  napi_value result, summary;
  char text[64] = "";
  if (!job->special) snprintf(text, sizeof text, "%zu:%016llx%016llx", job->count, (unsigned long long)job->sums[0], (unsigned long long)job->sums[1]);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &summary);
  napi_create_array_with_length(env, 5, &result);
  napi_set_element(env, result, 0, joined(env, &job->names));
  napi_set_element(env, result, 1, typed_copy(env, napi_float64_array, job->meta, job->count * META_PER_ITEM, sizeof(double)));
  napi_set_element(env, result, 2, typed_copy(env, napi_bigint64_array, job->times, job->count * TIMES_PER_ITEM, sizeof(int64_t)));
  napi_set_element(env, result, 3, joined(env, &job->targets));
  napi_set_element(env, result, 4, summary);
  return result;
}

static void list_complete(napi_env env, napi_status status, void *data) {
  Batch *batch = data;
  napi_value results;
  napi_create_array_with_length(env, batch->count, &results);
  for (size_t i = 0; i < batch->count; i++) {
    Listing *job = &batch->listings[i];
    // Cancelled work never ran: each folder reports an I/O error rather than an empty listing.
    if (status != napi_ok && !job->err && !job->bad_utf8) job->err = EIO, job->syscall = "scandir";
    napi_set_element(env, results, (uint32_t)i, listing_result(env, job));
  }
  napi_resolve_deferred(env, batch->deferred, results);
  free_batch(env, batch);
}

static char *string_arg(napi_env env, napi_value value) {
  size_t n;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &n) != napi_ok) return NULL;
  char *s = malloc(n + 1);
  if (s) napi_get_value_string_utf8(env, value, s, n + 1, &n);
  return s;
}

// Queues `execute` on the thread pool and returns the promise `complete` settles.
static napi_value start_work(napi_env env, const char *label, napi_async_execute_callback execute, napi_async_complete_callback complete,
                             void *data, napi_deferred *deferred, napi_async_work *work) {
  napi_value promise, name;
  napi_create_promise(env, deferred, &promise);
  napi_create_string_utf8(env, label, NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, data, work);
  napi_queue_async_work(env, *work);
  return promise;
}

// list(paths: string[], follow: boolean[]): Promise<Array<[names, meta, times, targets] | Error>>,
// names and targets each one string of NUL-terminated parts.
static napi_value list(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t count = 0;
  bool is_array = false;
  if (argc == 2) napi_is_array(env, argv[0], &is_array);
  if (is_array) napi_get_array_length(env, argv[0], &count);
  Batch *batch = calloc(1, sizeof *batch);
  if (batch) batch->listings = calloc(count ? count : 1, sizeof(Listing));
  if (!is_array || !batch || !batch->listings) {
    if (batch) free(batch->listings);
    free(batch);
    napi_throw_type_error(env, NULL, "list(paths, follow) needs an array of path strings");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value path, follow;
    bool value = false;
    napi_get_element(env, argv[0], i, &path);
    napi_get_element(env, argv[1], i, &follow);
    napi_get_value_bool(env, follow, &value);
    batch->listings[i].follow = value;
    batch->listings[i].path = string_arg(env, path);
    batch->count = i + 1;
    if (!batch->listings[i].path) {
      free_batch(env, batch);
      napi_throw_type_error(env, NULL, "list(paths, follow) needs an array of path strings");
      return NULL;
    }
  }
  return start_work(env, "synctray:list", list_execute, list_complete, batch, &batch->deferred, &batch->work);
}


// ---- copy -------------------------------------------------------------------------------------

// Files up to this size go through one buffer: fewer calls than copy_file_range's loop.
#define SMALL_FILE (256 * 1024)
static _Thread_local char small_buffer[SMALL_FILE];

// The mode of a copy: >= 0 as given, -1 the source's, KEEP_CREATED as the file system made it.
#define KEEP_CREATED (-2)

// What a rename may replace (Replacing in storage.ts): anything, nothing, or only the item as
// listed (rep_kind, numbered as KIND_*, rep_size and rep_mtime).
enum { REPLACE_ANY = -1, REPLACE_NOTHING = 0, REPLACE_ITEM = 1 };

// Which path a failure is about, so its error names that one.
enum { ABOUT_FROM = 0, ABOUT_TO = 1, ABOUT_RENAME_TO = 2 };

// One file to copy, and how it failed. Mirrors fs-worker.ts's CopyRequest and copy().
typedef struct {
  char *from, *to, *rename_to;  // rename_to NULL: the checked copy stays at `to`
  // The destination storage's root: `to` and `rename_to` lie below it, and every folder between
  // is opened without following a symlink, so a folder swapped for a link meanwhile is refused.
  char *root;
  char *rename_root;            // rename_to's root when it lies in another storage (else NULL: root)
  int to_dir, rename_dir;       // the folders holding `to` and `rename_to`, opened beneath root
  bool own_rename_dir;          // rename_dir is this job's to close (not the batch's cached folder)
  const char *to_leaf, *rename_leaf;
  // Instead of `from`: bytes already here (a file read from a phone, checked by the caller).
  const char *data;
  size_t data_len;
  napi_ref data_ref;
  int32_t mode;                 // -1: the source's
  bool fsync, check;            // check: the source must still be expect_size / expect_mtime
  double expect_size;
  int expect_kind;              // ops' rename with `check`: the kind the item had when listed
  int64_t atime, mtime, expect_mtime;
  int replacing;  // REPLACE_*: what may stand at rename_to (see Replacing in storage.ts)
  int rep_kind;
  double rep_size;
  int64_t rep_mtime;
  // The failure: an errno from `syscall`, or one of our codes with its text.
  int err;
  const char *syscall, *code, *what;
  int about;      // ABOUT_*: which path the failure is about
  bool at_target; // about the final name rather than the copy (JavaScript's atTarget)
} CopyJob;

static void fail_errno(CopyJob *j, int err, const char *syscall, int about) {
  j->err = err, j->syscall = syscall, j->about = about;
}

static void fail_code(CopyJob *j, const char *code, const char *what, int about) {
  j->code = code, j->what = what, j->about = about;
}

// Writes all of buf; 0 or an errno.
static int write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    buf += w, n -= (size_t)w;
  }
  return 0;
}

// Copies the whole of src to dst; 0, an errno, or -1 when the source was not `size` bytes long.
static int copy_content(int src, int dst, int64_t size) {
  if (size <= SMALL_FILE) {
    ssize_t n;
    do n = pread(src, small_buffer, SMALL_FILE, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    if (n != size) return -1;
    return write_all(dst, small_buffer, (size_t)n);
  }
  // The kernel copies (and may share blocks) without a trip through user space.
  int64_t total = 0;
  int fallback = 0;
  for (;;) {
    ssize_t n;
    if (!fallback) {
      n = syscall(SYS_copy_file_range, src, NULL, dst, NULL, (size_t)1 << 30, 0);
      // Unsupported here, or 0 at once (some kernels and file systems, for files that are not
      // empty): read and write instead.
      if (total == 0 && ((n < 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP)) || n == 0)) {
        fallback = 1;
        continue;
      }
    } else {
      n = read(src, small_buffer, SMALL_FILE);
      if (n > 0) {
        int err = write_all(dst, small_buffer, (size_t)n);
        if (err) return err;
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;
    total += n;
  }
  return total == size ? 0 : -1;
}

static size_t folder_len(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? (size_t)(slash - path) : 0;
}

// Opens the folder holding `path`, which must lie below `root`: the root is opened as it is (it may
// be a symlink the user chose), every folder below it without following a link. Returns the
// folder's fd and sets *leaf to the last name, or -1 with errno set (ELOOP or ENOTDIR when a
// folder on the way is a symlink or no folder any more).
static int open_beneath(const char *root, const char *path, const char **leaf) {
  size_t n = strlen(root);
  while (n > 0 && root[n - 1] == '/') n--;  // "/" becomes "", so that "/x" lies below it
  if (strncmp(path, root, n) != 0 || path[n] != '/') {
    errno = EXDEV;
    return -1;
  }
#ifdef __linux__
  {
    // One call where the kernel has openat2: the whole path resolved refusing any symlink (the
    // root given is already the real one, see local-storage.ts), the folder opened as a handle.
    size_t len = folder_len(path);
    char parent[PATH_MAX];
    if (len < sizeof parent) {
      memcpy(parent, path, len);
      parent[len] = 0;
      struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
      int fd = (int)syscall(SYS_openat2, AT_FDCWD, len == 0 ? "/" : parent, &how, sizeof how);
      if (fd >= 0 || (errno != ENOSYS && errno != EINVAL && errno != EPERM)) {
        if (fd >= 0) *leaf = path + len + 1;
        return fd;
      }
    }
  }
#endif
  // Handles only (O_PATH): walking needs search permission on each folder, not read permission.
  int fd = open(n == 0 ? "/" : root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  const char *rest = path + n + 1;
  for (;;) {
    const char *slash = strchr(rest, '/');
    if (!slash) break;
    char part[NAME_MAX + 1];
    size_t len = (size_t)(slash - rest);
    if (len == 0) {  // "//": nothing between the slashes
      rest = slash + 1;
      continue;
    }
    if (len > NAME_MAX) {
      close(fd);
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(part, rest, len);
    part[len] = 0;
    int next = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    struct stat st;
    // A symlink on the way says ENOTDIR here: told apart from a file, it is a link put in place.
    if (next < 0 && err == ENOTDIR && fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) err = ELOOP;
    close(fd);
    if (next < 0) {
      errno = err;
      return -1;
    }
    fd = next;
    rest = slash + 1;
  }
  *leaf = rest;
  return fd;
}

// The folder the last job wrote into, kept open for the next jobs of the batch in the same folder
// (most of a batch is): opened beneath the root once, it stays that folder even if a link is put
// in its place meanwhile, so reusing it writes nowhere else.
typedef struct {
  const char *root, *path;  // path: the job's `to`, of which the folder is the first `len` bytes
  size_t len;
  int fd;
} FolderCache;

static int cached_folder(FolderCache *c, const char *root, const char *path, const char **leaf) {
  size_t len = folder_len(path);
  if (c->fd >= 0 && strcmp(c->root, root) == 0 && c->len == len && strncmp(c->path, path, len) == 0) {
    *leaf = path + len + 1;
    return c->fd;
  }
  int fd = open_beneath(root, path, leaf);
  if (fd < 0) return -1;
  if (c->fd >= 0) close(c->fd);
  c->root = root, c->path = path, c->len = len, c->fd = fd;
  return fd;
}

// Opens the folders of `to` and `rename_to` beneath the root; false with the failure in j. The
// folders belong to the cache (closed when the batch is done).
static bool open_folders(CopyJob *j, FolderCache *cache) {
  j->to_dir = cached_folder(cache, j->root, j->to, &j->to_leaf);
  if (j->to_dir < 0) {
    if (errno == ELOOP) fail_code(j, "ECHANGED", "a folder on the way is a symlink now (put in its place?); nothing was written through it", ABOUT_TO);
    else fail_errno(j, errno, "open", ABOUT_TO);
    return false;
  }
  if (!j->rename_to) return true;
  size_t len = folder_len(j->rename_to);
  if (!j->rename_root && len == folder_len(j->to) && strncmp(j->rename_to, j->to, len) == 0) {
    j->rename_dir = j->to_dir;
    j->rename_leaf = j->rename_to + len + 1;
    return true;
  }
  j->rename_dir = open_beneath(j->rename_root ? j->rename_root : j->root, j->rename_to, &j->rename_leaf);
  j->own_rename_dir = true;
  if (j->rename_dir < 0) {
    if (errno == ELOOP) fail_code(j, "ECHANGED", "a folder on the way is a symlink now (put in its place?); nothing was written through it", ABOUT_RENAME_TO);
    else fail_errno(j, errno, "open", ABOUT_RENAME_TO);
    return false;
  }
  return true;
}

static struct timespec to_timespec(int64_t ns) {
  struct timespec t = {ns / 1000000000, ns % 1000000000};
  if (t.tv_nsec < 0) t.tv_sec--, t.tv_nsec += 1000000000;
  return t;
}

// A new file from bytes in memory: written, given its mode and times, flushed.
static bool write_file(CopyJob *j) {
  int dst = openat(j->to_dir, j->to_leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dst < 0) {
    fail_errno(j, errno, "open", ABOUT_TO);
    return false;
  }
  struct timespec times[2] = {to_timespec(j->atime), to_timespec(j->mtime)};
  int err = write_all(dst, j->data, j->data_len);
  if (err) fail_errno(j, err, "write", ABOUT_TO);
  else if (j->mode >= 0 && fchmod(dst, (mode_t)j->mode) != 0) fail_errno(j, errno, "fchmod", ABOUT_TO);
  else if (futimens(dst, times) != 0) fail_errno(j, errno, "futimens", ABOUT_TO);
  else if (j->fsync && fsync(dst) != 0) fail_errno(j, errno, "fsync", ABOUT_TO);
  if (close(dst) != 0 && !j->err && !j->code) fail_errno(j, errno, "close", ABOUT_TO);
  return !j->err && !j->code;
}

// The copy: opened without following links (a FIFO never waits), checked, written to a new file,
// given its mode and times, flushed, and the source checked again by path (an editor saving a file
// renames a new one over it). Returns false with the failure in j.
static bool copy_file(CopyJob *j) {
  if (j->data) return write_file(j);
  int src = -1, dst = -1;
  struct stat before, after;
  src = open(j->from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (src < 0) {
    fail_errno(j, errno, "open", ABOUT_FROM);
    return false;
  }
  if (fstat(src, &before) != 0) fail_errno(j, errno, "fstat", ABOUT_FROM);
  else if (S_ISDIR(before.st_mode)) fail_code(j, "EISDIR", "is a directory", ABOUT_FROM);
  else if (!S_ISREG(before.st_mode)) fail_code(j, "ECHANGED", "is no longer a regular file", ABOUT_FROM);
  else if (j->check && ((double)before.st_size != j->expect_size || !same_ns(before.st_mtim, j->expect_mtime)))
    fail_code(j, "ECHANGED", "changed while being copied", ABOUT_FROM);
  if (j->err || j->code) goto done;

  // Private until fchmod gives it its mode (a umask or a folder's default ACL would change a mode
  // given here). O_EXCL also refuses a symlink planted at the target.
  // KEEP_CREATED: a drive that keeps no modes (exFAT, FAT), where fchmod is a round trip for nothing.
  mode_t final_mode = j->mode >= 0 ? (mode_t)j->mode : before.st_mode & 07777;
  dst = openat(j->to_dir, j->to_leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dst < 0) {
    fail_errno(j, errno, "open", ABOUT_TO);
    goto done;
  }
  int err = copy_content(src, dst, before.st_size);
  struct timespec times[2] = {to_timespec(j->atime), to_timespec(j->mtime)};
  if (err == -1) fail_code(j, "ECHANGED", "changed while being copied", ABOUT_FROM);
  else if (err) fail_errno(j, err, "write", ABOUT_TO);
  else if (j->mode != KEEP_CREATED && fchmod(dst, final_mode) != 0) fail_errno(j, errno, "fchmod", ABOUT_TO);
  else if (futimens(dst, times) != 0) fail_errno(j, errno, "futimens", ABOUT_TO);
  else if (j->fsync && fsync(dst) != 0) fail_errno(j, errno, "fsync", ABOUT_TO);
  else if (j->check) {
    if (lstat(j->from, &after) != 0) {
      if (errno == ENOENT) fail_code(j, "ENOENT", "source vanished", ABOUT_FROM);
      else fail_errno(j, errno, "lstat", ABOUT_FROM);
    } else if (!S_ISREG(after.st_mode)) {
      fail_code(j, "ECHANGED", "is no longer a regular file", ABOUT_FROM);
    } else if (after.st_ino != before.st_ino || (double)after.st_size != j->expect_size || !same_ns(after.st_mtim, j->expect_mtime)) {
      fail_code(j, "ECHANGED", "changed while being copied", ABOUT_FROM);
    }
  }

done:
  if (src >= 0) close(src);
  if (dst >= 0 && close(dst) != 0 && !j->err && !j->code) fail_errno(j, errno, "close", ABOUT_TO);
  return !j->err && !j->code;
}

// Moves without replacing: 0, or an errno (EEXIST when something stands at `to`; ENOTSUP-like
// codes where the file system offers neither way). renameat2(RENAME_NOREPLACE) is one call; where
// the kernel or the file system lacks it, a hard link and an unlink do the same in two.
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif
// File systems (by device) seen to lack both ways: a FUSE drive (exFAT, NTFS) answers each try
// with a round trip to its driver, two per file for nothing, so they are not tried there again.
#define NO_REPLACE_MEMORY 16
static dev_t lacking[NO_REPLACE_MEMORY];
static int lacking_count;

static bool lacks_no_replace(dev_t dev) {
  int n = __atomic_load_n(&lacking_count, __ATOMIC_ACQUIRE);
  for (int i = 0; i < n && i < NO_REPLACE_MEMORY; i++)
    if (lacking[i] == dev) return true;
  return false;
}

static void remember_lacking(dev_t dev) {
  if (lacks_no_replace(dev)) return;
  // Claims a slot; a race at worst remembers a device twice or forgets one (it is tried again).
  int slot = __atomic_load_n(&lacking_count, __ATOMIC_ACQUIRE);
  if (slot >= NO_REPLACE_MEMORY) return;
  lacking[slot] = dev;
  __atomic_compare_exchange_n(&lacking_count, &slot, slot + 1, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static int move_no_replace(int from_dir, const char *from, int to_dir, const char *to, const char **call) {
  struct stat dir;
  // Looked at only once some file system lacked both: no call more per file elsewhere.
  if (__atomic_load_n(&lacking_count, __ATOMIC_ACQUIRE) > 0 && fstat(to_dir, &dir) == 0 && lacks_no_replace(dir.st_dev)) {
    *call = "link";
    return ENOTSUP;
  }
#ifdef SYS_renameat2
  *call = "rename";
  if (syscall(SYS_renameat2, from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return errno;
#endif
  *call = "link";
  if (linkat(from_dir, from, to_dir, to, 0) != 0) {
    int err = errno;
    // Only a file tells: link(2) refuses every folder (EPERM), on any file system.
    struct stat item;
    bool file = fstatat(from_dir, from, &item, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(item.st_mode);
    if (file && (err == EPERM || err == ENOTSUP || err == EMLINK || err == ENOSYS) && fstat(to_dir, &dir) == 0) remember_lacking(dir.st_dev);
    return err;
  }
  *call = "unlink";
  return unlinkat(from_dir, from, 0) == 0 ? 0 : errno;
}

static int kind_of(mode_t m) {
  return S_ISREG(m) ? KIND_FILE : S_ISDIR(m) ? KIND_DIR : S_ISLNK(m) ? KIND_SYMLINK : KIND_SPECIAL;
}

// Moves the checked copy to rename_to, replacing at most what `replacing` allows: fs-worker.ts's
// place(), where each step is explained.
static void place(CopyJob *j) {
  j->at_target = true;
  struct stat st;
  if (j->replacing == REPLACE_ANY) {
    if (renameat(j->to_dir, j->to_leaf, j->rename_dir, j->rename_leaf) != 0) fail_errno(j, errno, "rename", ABOUT_RENAME_TO);
    return;
  }
  if (j->replacing == REPLACE_ITEM) {
    if (fstatat(j->rename_dir, j->rename_leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      int kind = kind_of(st.st_mode);
      bool same = kind == j->rep_kind && (kind == KIND_FILE ? (double)st.st_size : 0) == j->rep_size && same_ns(st.st_mtim, j->rep_mtime);
      if (!same) fail_code(j, "EAPPEARED", "changed in the destination since it was listed", ABOUT_RENAME_TO);
      else if (renameat(j->to_dir, j->to_leaf, j->rename_dir, j->rename_leaf) != 0) fail_errno(j, errno, "rename", ABOUT_RENAME_TO);
      return;
    }
    if (errno != ENOENT) {
      fail_errno(j, errno, "lstat", ABOUT_RENAME_TO);
      return;
    }
  }
  const char *call;
  int err = move_no_replace(j->to_dir, j->to_leaf, j->rename_dir, j->rename_leaf, &call);
  if (!err) return;
  if (strcmp(call, "unlink") == 0) {
    // The copy is at its final name and also still at its temp name: the next run removes the latter.
    fail_errno(j, err, call, ABOUT_TO);
  } else if (err == EEXIST) {
    fail_code(j, "EAPPEARED", "appeared in the destination since it was listed", ABOUT_RENAME_TO);
  } else if (err == EPERM || err == ENOTSUP || err == EMLINK || err == EXDEV || err == ENOSYS) {
    // No hard links here: a look, then a rename (a short window remains).
    if (fstatat(j->rename_dir, j->rename_leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) fail_code(j, "EAPPEARED", "appeared in the destination since it was listed", ABOUT_RENAME_TO);
    else if (renameat(j->to_dir, j->to_leaf, j->rename_dir, j->rename_leaf) != 0) {
      if (errno == EEXIST || errno == ENOTEMPTY) fail_code(j, "EAPPEARED", "appeared in the destination since it was listed", ABOUT_RENAME_TO);
      else fail_errno(j, errno, "rename", ABOUT_RENAME_TO);
    }
  } else {
    fail_errno(j, err, call, ABOUT_RENAME_TO);
  }
}

typedef struct {
  size_t count;
  CopyJob *jobs;
  napi_deferred deferred;
  napi_async_work work;
} CopyBatch;

static void copy_execute(napi_env env, void *data) {
  (void)env;
  CopyBatch *batch = data;
  FolderCache cache = {NULL, NULL, 0, -1};
  for (size_t i = 0; i < batch->count; i++) {
    CopyJob *j = &batch->jobs[i];
    j->to_dir = j->rename_dir = -1;
    if (open_folders(j, &cache) && copy_file(j) && j->rename_to && (j->check || j->data)) place(j);
    if (j->own_rename_dir && j->rename_dir >= 0) close(j->rename_dir);
  }
  if (cache.fd >= 0) close(cache.fd);
}

static napi_value copy_error(napi_env env, CopyJob *j) {
  const char *path = j->about == ABOUT_FROM ? (j->from ? j->from : "(bytes)") : j->about == ABOUT_TO ? j->to : j->rename_to;
  const char *code = j->code ? j->code : errno_code(j->err);
  char what[256];
  if (j->code) snprintf(what, sizeof what, "%s", j->what);
  else snprintf(what, sizeof what, "%s, %s", strerror(j->err), j->syscall);
  // Our own codes carry their text as the portable code words it (mapFsError shows it as it is).
  size_t size = strlen(code) + strlen(what) + strlen(path) + 16;
  char *msg = malloc(size);
  if (msg && j->code) snprintf(msg, size, "%s", what);
  else if (msg) snprintf(msg, size, "%s: %s '%s'", code, what, path);
  napi_value error, message, code_value, flag;
  napi_create_string_utf8(env, msg ? msg : code, NAPI_AUTO_LENGTH, &message);
  free(msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_error(env, code_value, message, &error);
  napi_set_named_property(env, error, "code", code_value);
  set_string(env, error, "path", path);
  napi_get_boolean(env, j->at_target, &flag);
  napi_set_named_property(env, error, "atTarget", flag);
  return error;
}

static void free_copy_batch(napi_env env, CopyBatch *batch) {
  if (batch->work) napi_delete_async_work(env, batch->work);
  for (size_t i = 0; i < batch->count; i++) {
    free(batch->jobs[i].from);
    free(batch->jobs[i].to);
    free(batch->jobs[i].rename_to);
    free(batch->jobs[i].root);
    if (batch->jobs[i].data_ref) napi_delete_reference(env, batch->jobs[i].data_ref);
  }
  free(batch->jobs);
  free(batch);
}

static void copy_complete(napi_env env, napi_status status, void *data) {
  CopyBatch *batch = data;
  napi_value results, none;
  napi_get_null(env, &none);
  napi_create_array_with_length(env, batch->count, &results);
  for (size_t i = 0; i < batch->count; i++) {
    CopyJob *j = &batch->jobs[i];
    // Cancelled work never ran: each file reports an I/O error rather than a copy it did not make.
    if (status != napi_ok && !j->err && !j->code) fail_errno(j, EIO, "copy", ABOUT_TO);
    napi_set_element(env, results, (uint32_t)i, j->err || j->code ? copy_error(env, j) : none);
  }
  napi_resolve_deferred(env, batch->deferred, results);
  free_copy_batch(env, batch);
}

static int64_t get_bigint(napi_env env, napi_value v, bool *ok) {
  int64_t out = 0;
  bool lossless = true;
  if (napi_get_value_bigint_int64(env, v, &out, &lossless) != napi_ok || !lossless) *ok = false;
  return out;
}

static napi_value element(napi_env env, napi_value array, uint32_t i) {
  napi_value v = NULL;
  napi_get_element(env, array, i, &v);
  return v;
}

// The one argument of copy() and ops(): an array, and its length; false when it is not one.
static bool array_arg(napi_env env, napi_callback_info info, napi_value *array, uint32_t *count) {
  size_t argc = 1;
  bool is_array = false;
  *count = 0;
  napi_get_cb_info(env, info, &argc, array, NULL, NULL);
  if (argc == 1) napi_is_array(env, *array, &is_array);
  if (is_array) napi_get_array_length(env, *array, count);
  return is_array;
}

// What a rename may replace: undefined (anything), null (nothing) or [kind, size, mtimeNs] as listed.
static void read_replacing(napi_env env, napi_value replacing, CopyJob *j, bool *ok) {
  napi_valuetype type;
  napi_typeof(env, replacing, &type);
  j->replacing = type == napi_undefined ? REPLACE_ANY : type == napi_null ? REPLACE_NOTHING : REPLACE_ITEM;
  if (j->replacing == REPLACE_ITEM) {
    double kind = -1;
    napi_get_value_double(env, element(env, replacing, 0), &kind);
    j->rep_kind = (int)kind;
    napi_get_value_double(env, element(env, replacing, 1), &j->rep_size);
    j->rep_mtime = get_bigint(env, element(env, replacing, 2), ok);
  }
}

// Reads one request: [from (a path, or a Buffer of the bytes to write), to, renameTo | null, mode, fsync, expectSize (-1: no check), atimeNs,
// mtimeNs, expectMtimeNs, replacing: undefined | null | [kind, size, mtimeNs], root of the destination].
static bool read_job(napi_env env, napi_value r, CopyJob *j) {
  bool ok = true;
  napi_valuetype type;
  napi_value from = element(env, r, 0);
  bool is_buffer = false;
  napi_is_buffer(env, from, &is_buffer);
  if (is_buffer) {
    void *bytes = NULL;
    napi_get_buffer_info(env, from, &bytes, &j->data_len);
    // Kept alive until the work is done: the thread pool reads it after this call returns.
    if (napi_create_reference(env, from, 1, &j->data_ref) != napi_ok) return false;
    j->data = bytes ? bytes : "";
  } else {
    j->from = string_arg(env, from);
  }
  j->to = string_arg(env, element(env, r, 1));
  napi_value rename_to = element(env, r, 2);
  napi_typeof(env, rename_to, &type);
  bool renames = type == napi_string;
  if (renames) j->rename_to = string_arg(env, rename_to);
  napi_get_value_int32(env, element(env, r, 3), &j->mode);
  napi_get_value_bool(env, element(env, r, 4), &j->fsync);
  napi_get_value_double(env, element(env, r, 5), &j->expect_size);
  j->check = j->expect_size >= 0;
  j->atime = get_bigint(env, element(env, r, 6), &ok);
  j->mtime = get_bigint(env, element(env, r, 7), &ok);
  j->expect_mtime = j->check ? get_bigint(env, element(env, r, 8), &ok) : 0;
  read_replacing(env, element(env, r, 9), j, &ok);
  j->root = string_arg(env, element(env, r, 10));
  return ok && (j->from || j->data) && j->to && j->root && (!renames || j->rename_to);
}

// copy(requests): Promise<(Error | null)[]>, the files copied (and placed) on the thread pool.
static napi_value copy(napi_env env, napi_callback_info info) {
  napi_value requests;
  uint32_t count;
  bool is_array = array_arg(env, info, &requests, &count);
  CopyBatch *batch = calloc(1, sizeof *batch);
  if (batch) batch->jobs = calloc(count ? count : 1, sizeof(CopyJob));
  bool ok = is_array && batch && batch->jobs;
  for (uint32_t i = 0; ok && i < count; i++) {
    batch->count = i + 1;
    ok = read_job(env, element(env, requests, i), &batch->jobs[i]);
  }
  if (!ok) {
    if (batch && batch->jobs) free_copy_batch(env, batch);
    else free(batch);
    napi_throw_type_error(env, NULL, "copy(requests) needs an array of copy requests (see native.ts)");
    return NULL;
  }
  return start_work(env, "synctray:copy", copy_execute, copy_complete, batch, &batch->deferred, &batch->work);
}

// ---- ops ----------------------------------------------------------------------------------------

// The other changes the local backend makes below its root (fs-worker.ts's unlink, rmdir, mkdir,
// rename, utimes, chmod, symlink), each through the folder opened beneath the root as copies are,
// so that none goes through a folder swapped for a symlink meanwhile. Same errors as fs-worker.ts.
typedef enum { OP_UNKNOWN, OP_UNLINK, OP_RMDIR, OP_MKDIR, OP_RENAME, OP_UTIMES, OP_CHMOD, OP_SYMLINK, OP_FSYNC, OP_SYNCFS } Op;

// The names JavaScript gives the ops, by Op (native.ts's NativeOpRequest).
static const char *const OP_NAMES[] = {"", "unlink", "rmdir", "mkdir", "rename", "utimes", "chmod", "symlink", "fsync", "syncfs"};

static Op op_named(const char *name) {
  for (size_t i = 1; name && i < sizeof OP_NAMES / sizeof *OP_NAMES; i++)
    if (strcmp(name, OP_NAMES[i]) == 0) return (Op)i;
  return OP_UNKNOWN;
}

typedef struct {
  Op op;
  char *target;
  bool times;
  CopyJob j;  // root, `to` (the path), `rename_to` (rename's target), replacing, mode, times, failure
} OpJob;

typedef struct {
  size_t count;
  OpJob *jobs;
  napi_deferred deferred;
  napi_async_work work;
} OpBatch;

// Flushes the root folder itself, or (whole) the file system holding it: syncfs(2) writes out and
// waits for everything dirty there in one call, where one fsync per file would wait for each
// file's journal commit in turn.
static void flush_root(CopyJob *j, bool whole) {
  int fd = open(j->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    fail_errno(j, errno, "open", ABOUT_TO);
    return;
  }
#ifdef __linux__
  if (whole ? syncfs(fd) != 0 : fsync(fd) != 0) fail_errno(j, errno, whole ? "syncfs" : "fsync", ABOUT_TO);
#else
  if (whole) fail_code(j, "ENOSYS", "syncfs is Linux only", ABOUT_TO);
  else if (fsync(fd) != 0) fail_errno(j, errno, "fsync", ABOUT_TO);
#endif
  close(fd);
}

// Linux has no lchmod: the item itself opened as a handle, then changed through /proc.
static void chmod_beneath(CopyJob *j, int dir, const char *leaf) {
  int fd = openat(dir, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0) fail_errno(j, errno, "open", ABOUT_TO);
  else if (fstat(fd, &st) != 0) fail_errno(j, errno, "fstat", ABOUT_TO);
  else if (S_ISLNK(st.st_mode)) fail_code(j, "ELOOP", "is a symlink", ABOUT_TO);
  else {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (chmod(proc, (mode_t)j->mode) != 0) {
      // No /proc (a chroot): the item opened for reading, never following a link, then fchmod.
      int rd = errno == ENOENT ? openat(dir, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
      if (rd < 0 || fchmod(rd, (mode_t)j->mode) != 0) fail_errno(j, errno, "chmod", ABOUT_TO);
      if (rd >= 0) close(rd);
    }
  }
  if (fd >= 0) close(fd);
}

// A rename told the item as it was listed moves only that (a version set aside is only ever what
// the run saw): anything else there now stays where it is.
static bool still_as_listed(CopyJob *j) {
  if (!j->check) return true;
  struct stat st;
  if (fstatat(j->to_dir, j->to_leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    fail_errno(j, errno, "lstat", ABOUT_TO);
    return false;
  }
  int kind = kind_of(st.st_mode);
  double size = kind == KIND_FILE ? (double)st.st_size : 0;
  if (kind == j->expect_kind && size == j->expect_size && same_ns(st.st_mtim, j->expect_mtime)) return true;
  fail_code(j, "ECHANGED", "changed in the destination since it was listed; left as it is", ABOUT_TO);
  return false;
}

static void run_op(OpJob *o) {
  CopyJob *j = &o->j;
  j->to_dir = j->rename_dir = -1;
  FolderCache cache = {NULL, NULL, 0, -1};
  if (o->op != OP_RENAME) {
    free(j->rename_to);
    j->rename_to = NULL;
  } else {
    if (open_folders(j, &cache) && still_as_listed(j)) place(j);
    if (j->own_rename_dir && j->rename_dir >= 0) close(j->rename_dir);
    if (cache.fd >= 0) close(cache.fd);
    return;
  }
  // The root itself (a folder to flush, or the file system holding it) is opened as it is.
  bool at_root = strcmp(j->to, j->root) == 0;
  if (o->op == OP_SYNCFS || (at_root && o->op == OP_FSYNC)) {
    flush_root(j, o->op == OP_SYNCFS);
    return;
  }
  if (!open_folders(j, &cache)) return;
  int dir = j->to_dir;
  const char *leaf = j->to_leaf;
  struct timespec times[2] = {to_timespec(j->atime), to_timespec(j->mtime)};
  switch (o->op) {
    case OP_UNLINK:
      if (unlinkat(dir, leaf, 0) != 0) fail_errno(j, errno, "unlink", ABOUT_TO);
      break;
    case OP_RMDIR:
      if (unlinkat(dir, leaf, AT_REMOVEDIR) != 0) fail_errno(j, errno, "rmdir", ABOUT_TO);
      break;
    case OP_MKDIR:
      if (mkdirat(dir, leaf, (mode_t)j->mode) != 0) fail_errno(j, errno, "mkdir", ABOUT_TO);
      break;
    case OP_UTIMES:
      if (utimensat(dir, leaf, times, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(j, errno, "utime", ABOUT_TO);
      break;
    case OP_CHMOD:
      chmod_beneath(j, dir, leaf);
      break;
    case OP_FSYNC: {
      // A file or folder written earlier without a flush; never through a symlink, never waiting on a FIFO.
      int fd = openat(dir, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) fail_errno(j, errno, "open", ABOUT_TO);
      else if (fsync(fd) != 0) fail_errno(j, errno, "fsync", ABOUT_TO);
      if (fd >= 0) close(fd);
      break;
    }
    case OP_SYMLINK:
      if (symlinkat(o->target, dir, leaf) != 0) fail_errno(j, errno, "symlink", ABOUT_TO);
      else if (o->times && utimensat(dir, leaf, times, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(j, errno, "utime", ABOUT_TO);
      break;
    default:
      fail_code(j, "EINVAL", "unknown operation", ABOUT_TO);
  }
  if (cache.fd >= 0) close(cache.fd);
}

static void ops_execute(napi_env env, void *data) {
  (void)env;
  OpBatch *batch = data;
  for (size_t i = 0; i < batch->count; i++) run_op(&batch->jobs[i]);
}

static void free_op_batch(napi_env env, OpBatch *batch) {
  if (batch->work) napi_delete_async_work(env, batch->work);
  for (size_t i = 0; i < batch->count; i++) {
    OpJob *o = &batch->jobs[i];
    free(o->target), free(o->j.to), free(o->j.rename_to), free(o->j.root), free(o->j.rename_root);
  }
  free(batch->jobs);
  free(batch);
}

static void ops_complete(napi_env env, napi_status status, void *data) {
  OpBatch *batch = data;
  napi_value results, none;
  napi_get_null(env, &none);
  napi_create_array_with_length(env, batch->count, &results);
  for (size_t i = 0; i < batch->count; i++) {
    CopyJob *j = &batch->jobs[i].j;
    if (status != napi_ok && !j->err && !j->code) fail_errno(j, EIO, OP_NAMES[batch->jobs[i].op], ABOUT_TO);
    napi_set_element(env, results, (uint32_t)i, j->err || j->code ? copy_error(env, j) : none);
  }
  napi_resolve_deferred(env, batch->deferred, results);
  free_op_batch(env, batch);
}

// Reads one request: [op, root, path, path2 (rename's target, symlink's text) | null, mode,
// atimeNs, mtimeNs, times (symlink: set them), replacing (rename: undefined | null | [kind, size, mtimeNs]),
// root of rename's target | null, listedAs (rename: null | [kind, size, mtimeNs])].
static bool read_op(napi_env env, napi_value r, OpJob *o) {
  bool ok = true;
  napi_valuetype type;
  CopyJob *j = &o->j;
  char *name = string_arg(env, element(env, r, 0));
  o->op = op_named(name);
  free(name);
  j->root = string_arg(env, element(env, r, 1));
  j->to = string_arg(env, element(env, r, 2));
  napi_value second = element(env, r, 3);
  napi_typeof(env, second, &type);
  if (type == napi_string) {
    if (o->op == OP_SYMLINK) o->target = string_arg(env, second);
    else j->rename_to = string_arg(env, second);
  }
  napi_get_value_int32(env, element(env, r, 4), &j->mode);
  j->atime = get_bigint(env, element(env, r, 5), &ok);
  j->mtime = get_bigint(env, element(env, r, 6), &ok);
  napi_get_value_bool(env, element(env, r, 7), &o->times);
  read_replacing(env, element(env, r, 8), j, &ok);
  napi_value root2 = element(env, r, 9);
  napi_typeof(env, root2, &type);
  if (type == napi_string) j->rename_root = string_arg(env, root2);
  // listedAs: null | undefined | [kind, size, mtimeNs], the item a rename alone may move.
  napi_value listed = element(env, r, 10);
  napi_typeof(env, listed, &type);
  if (type == napi_object) {
    double kind = -1;
    napi_get_value_double(env, element(env, listed, 0), &kind);
    j->check = true, j->expect_kind = (int)kind;
    napi_get_value_double(env, element(env, listed, 1), &j->expect_size);
    j->expect_mtime = get_bigint(env, element(env, listed, 2), &ok);
  }
  bool rename = o->op == OP_RENAME;
  bool symlink = o->op == OP_SYMLINK;
  return ok && o->op != OP_UNKNOWN && j->root && j->to && (!rename || j->rename_to) && (!symlink || o->target);
}

// ops(requests): Promise<(Error | null)[]>, the changes made on the thread pool in order.
static napi_value ops(napi_env env, napi_callback_info info) {
  napi_value requests;
  uint32_t count;
  bool is_array = array_arg(env, info, &requests, &count);
  OpBatch *batch = calloc(1, sizeof *batch);
  if (batch) batch->jobs = calloc(count ? count : 1, sizeof(OpJob));
  bool ok = is_array && batch && batch->jobs;
  for (uint32_t i = 0; ok && i < count; i++) {
    batch->count = i + 1;
    ok = read_op(env, element(env, requests, i), &batch->jobs[i]);
  }
  if (!ok) {
    if (batch && batch->jobs) free_op_batch(env, batch);
    else free(batch);
    napi_throw_type_error(env, NULL, "ops(requests) needs an array of operations (see native.ts)");
    return NULL;
  }
  return start_work(env, "synctray:ops", ops_execute, ops_complete, batch, &batch->deferred, &batch->work);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "list", NAPI_AUTO_LENGTH, list, NULL, &fn);
  napi_set_named_property(env, exports, "list", fn);
  napi_create_function(env, "copy", NAPI_AUTO_LENGTH, copy, NULL, &fn);
  napi_set_named_property(env, exports, "copy", fn);
  napi_create_function(env, "ops", NAPI_AUTO_LENGTH, ops, NULL, &fn);
  napi_set_named_property(env, exports, "ops", fn);
  return exports;
}
