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
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

static int64_t ns(struct timespec t) {
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
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
    t[0] = ns(st.st_mtim);
    t[1] = ns(st.st_atim);
    if (push_string(&job->names, name, name_len) != 0) {
      job->err = ENOMEM, job->syscall = "malloc";
      break;
    }
    if (kind == KIND_SYMLINK) {
      // A link that cannot be read is listed with an empty target, as the portable code does.
      ssize_t n = readlinkat(fd, name, link, sizeof link);
      if (push_string(&job->targets, link, n > 0 && (size_t)n < sizeof link ? (size_t)n : 0) != 0) {
        job->err = ENOMEM, job->syscall = "malloc";
        break;
      }
    }
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
  napi_value result;
  napi_create_array_with_length(env, 4, &result);
  napi_set_element(env, result, 0, joined(env, &job->names));
  napi_set_element(env, result, 1, typed_copy(env, napi_float64_array, job->meta, job->count * META_PER_ITEM, sizeof(double)));
  napi_set_element(env, result, 2, typed_copy(env, napi_bigint64_array, job->times, job->count * TIMES_PER_ITEM, sizeof(int64_t)));
  napi_set_element(env, result, 3, joined(env, &job->targets));
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
  napi_value promise, name;
  napi_create_promise(env, &batch->deferred, &promise);
  napi_create_string_utf8(env, "synctray:list", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, list_execute, list_complete, batch, &batch->work);
  napi_queue_async_work(env, batch->work);
  return promise;
}


// ---- copy -------------------------------------------------------------------------------------

// The process's umask, read once (Linux shows it in /proc/self/status; umask() itself cannot be
// read without being changed for every thread). -1 when unknown: then every copy gets fchmod.
static atomic_int umask_value = -1;

static int read_umask(void) {
  FILE *f = fopen("/proc/self/status", "re");
  if (!f) return -1;
  char line[256];
  int mask = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned value;
    if (sscanf(line, "Umask: %o", &value) == 1) {
      mask = (int)value;
      break;
    }
  }
  fclose(f);
  return mask;
}

// Files up to this size go through one buffer: fewer calls than copy_file_range's loop.
#define SMALL_FILE (256 * 1024)
static _Thread_local char small_buffer[SMALL_FILE];

// Throws an Error shaped like Node's fs errors; `code` an errno name or one of ours (ECHANGED).
static void throw_code(napi_env env, const char *code, const char *what, const char *path) {
  size_t size = strlen(code) + strlen(what) + strlen(path) + 16;
  char *msg = malloc(size);
  if (msg) snprintf(msg, size, "%s: %s '%s'", code, what, path);
  napi_value error, message, code_value;
  napi_create_string_utf8(env, msg ? msg : code, NAPI_AUTO_LENGTH, &message);
  free(msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_error(env, code_value, message, &error);
  napi_set_named_property(env, error, "code", code_value);
  set_string(env, error, "path", path);
  napi_throw(env, error);
}

static void throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  const char *code = errno_code(err);
  char what[256];
  snprintf(what, sizeof what, "%s, %s", strerror(err), syscall);
  throw_code(env, code, what, path);
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
      if (n < 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP) && total == 0) {
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

static int64_t get_bigint(napi_env env, napi_value v, bool *ok) {
  int64_t out = 0;
  bool lossless = true;
  *ok = napi_get_value_bigint_int64(env, v, &out, &lossless) == napi_ok && lossless;
  return out;
}

// copy(from, to, mode, atimeNs, mtimeNs, fsync, expectSize, expectMtimeNs): the copy half of
// fs-worker.ts's copy() — same checks, same errors — with the times kept to the nanosecond.
// mode -1 takes the source's; expectSize -1 checks nothing about the source.
static napi_value copy(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *from = argc == 8 ? string_arg(env, argv[0]) : NULL;
  char *to = argc == 8 ? string_arg(env, argv[1]) : NULL;
  int32_t mode = -1;
  bool want_fsync = true, ok_a = false, ok_m = false, ok_e = true;
  double expect_size = -1;
  int64_t atime = 0, mtime = 0, expect_mtime = 0;
  if (from && to) {
    napi_get_value_int32(env, argv[2], &mode);
    atime = get_bigint(env, argv[3], &ok_a);
    mtime = get_bigint(env, argv[4], &ok_m);
    napi_get_value_bool(env, argv[5], &want_fsync);
    napi_get_value_double(env, argv[6], &expect_size);
    if (expect_size >= 0) expect_mtime = get_bigint(env, argv[7], &ok_e);
  }
  if (!from || !to || !ok_a || !ok_m || !ok_e) {
    free(from), free(to);
    napi_throw_type_error(env, NULL, "copy(from, to, mode, atimeNs, mtimeNs, fsync, expectSize, expectMtimeNs)");
    return NULL;
  }

  int src = -1, dst = -1;
  const char *fail_code = NULL, *fail_what = NULL, *fail_path = from, *fail_call = NULL;
  int err = 0;
  struct stat before, after;
  // O_NOFOLLOW: a file swapped for a link is not copied through it. O_NONBLOCK: a FIFO would wait.
  src = open(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (src < 0) {
    err = errno, fail_call = "open";
    goto done;
  }
  if (fstat(src, &before) != 0) {
    err = errno, fail_call = "fstat";
    goto done;
  }
  if (S_ISDIR(before.st_mode)) {
    fail_code = "EISDIR", fail_what = "is a directory";
    goto done;
  }
  if (!S_ISREG(before.st_mode)) {
    fail_code = "ECHANGED", fail_what = "is no longer a regular file";
    goto done;
  }
  if (expect_size >= 0 && ((double)before.st_size != expect_size || ns(before.st_mtim) != expect_mtime)) {
    fail_code = "ECHANGED", fail_what = "changed while being copied";
    goto done;
  }
  // Created with its final permissions when the umask leaves them whole (most files), else private
  // until fchmod: never more open than the copy will be. O_EXCL also refuses a planted symlink.
  mode_t final_mode = mode >= 0 ? (mode_t)mode : before.st_mode & 07777;
  int mask = atomic_load(&umask_value);
  int exact = mask >= 0 && (final_mode & (mode_t)mask) == 0 && (final_mode & 07000) == 0;
  dst = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exact ? final_mode : 0600);
  if (dst < 0) {
    err = errno, fail_call = "open", fail_path = to;
    goto done;
  }
  err = copy_content(src, dst, before.st_size);
  if (err == -1) {
    err = 0, fail_code = "ECHANGED", fail_what = "changed while being copied";
    goto done;
  }
  if (err) {
    fail_call = "copy", fail_path = to;
    goto done;
  }
  struct timespec times[2] = {{atime / 1000000000, atime % 1000000000}, {mtime / 1000000000, mtime % 1000000000}};
  if (times[0].tv_nsec < 0) times[0].tv_sec--, times[0].tv_nsec += 1000000000;
  if (times[1].tv_nsec < 0) times[1].tv_sec--, times[1].tv_nsec += 1000000000;
  if (!exact && fchmod(dst, final_mode) != 0) err = errno, fail_call = "fchmod";
  else if (futimens(dst, times) != 0) err = errno, fail_call = "futimens";
  else if (want_fsync && fsync(dst) != 0) err = errno, fail_call = "fsync";
  if (err) {
    fail_path = to;
    goto done;
  }
  // By path, not by descriptor: an editor saving a file renames a new one over it.
  if (expect_size >= 0) {
    if (lstat(from, &after) != 0) {
      if (errno == ENOENT) fail_code = "ENOENT", fail_what = "source vanished";
      else err = errno, fail_call = "lstat";
    } else if (after.st_ino != before.st_ino || !S_ISREG(after.st_mode) || (double)after.st_size != expect_size ||
               ns(after.st_mtim) != expect_mtime) {
      fail_code = "ECHANGED", fail_what = S_ISREG(after.st_mode) ? "changed while being copied" : "is no longer a regular file";
    }
  }

done:
  if (src >= 0) close(src);
  if (dst >= 0 && close(dst) != 0 && !err && !fail_code) err = errno, fail_call = "close", fail_path = to;
  if (fail_code) throw_code(env, fail_code, fail_what, fail_path);
  else if (err) throw_errno(env, err, fail_call, fail_path);
  free(from), free(to);
  return NULL;
}

// Moves without replacing: 0, or an errno (EEXIST when something stands at `to`; ENOTSUP-like
// codes where the file system offers neither way). renameat2(RENAME_NOREPLACE) is one call; where
// the kernel or the file system lacks it, a hard link and an unlink do the same in two.
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif
static int move_no_replace(const char *from, const char *to, const char **call) {
#ifdef SYS_renameat2
  *call = "rename";
  if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return errno;
#endif
  *call = "link";
  if (link(from, to) != 0) return errno;
  *call = "unlink";
  return unlink(from) == 0 ? 0 : errno;
}

// moveNew(from, to): from is given the new name `to`, never replacing what appeared there
// (EAPPEARED). false where the file system can do neither: the caller moves another way.
// fs-worker.ts's place() says when this is used.
static napi_value move_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *from = argc == 2 ? string_arg(env, argv[0]) : NULL;
  char *to = argc == 2 ? string_arg(env, argv[1]) : NULL;
  napi_value result = NULL;
  const char *call = "rename";
  int err = from && to ? move_no_replace(from, to, &call) : 0;
  if (!from || !to) napi_throw_type_error(env, NULL, "moveNew(from, to) needs two path strings");
  else if (err == EEXIST) throw_code(env, "EAPPEARED", "appeared in the destination since it was listed", to);
  else if (err == EPERM || err == ENOTSUP || err == EMLINK || err == EXDEV || err == ENOSYS) napi_get_boolean(env, false, &result);
  else if (err) throw_errno(env, err, call, strcmp(call, "unlink") == 0 ? from : to);
  else napi_get_boolean(env, true, &result);
  free(from), free(to);
  return result;
}

NAPI_MODULE_INIT() {
  atomic_store(&umask_value, read_umask());
  napi_value fn;
  napi_create_function(env, "list", NAPI_AUTO_LENGTH, list, NULL, &fn);
  napi_set_named_property(env, exports, "list", fn);
  napi_create_function(env, "copy", NAPI_AUTO_LENGTH, copy, NULL, &fn);
  napi_set_named_property(env, exports, "copy", fn);
  napi_create_function(env, "moveNew", NAPI_AUTO_LENGTH, move_new, NULL, &fn);
  napi_set_named_property(env, exports, "moveNew", fn);
  return exports;
}
