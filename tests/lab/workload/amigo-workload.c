/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * amigo-workload: the load generator of the amigo lab.
 *
 * Runs inside lab guests (started by the guest's /init) and reproduces the
 * resource behaviour of one workload class, chosen by the kernel command
 * line (amigo.class=... and other amigo.KEY=VALUE arguments) or by KEY=VALUE
 * arguments on its own command line.  Every report period it prints one line
 * on stdout (the guest's serial console):
 *
 *   amigo-workload t=12.0 class=database ops/s=123456 total=1480000 \
 *       mem_MiB=96 disk_iops=100 net_tx_kB/s=0.0 net_rx_kB/s=0.0 phase=run
 *
 * ops/s counts completed units of work, so a throttled or slowed guest is
 * visible from the inside.  The same binary also runs on lab hosts:
 *   amigo-workload sink [PORT]                        UDP sink/echo for guests
 *   amigo-workload noise cpu=N mem=MIB file=PATH      noisy neighbour
 *
 * Built statically (gcc -static -pthread) by tests/lab/amigo-lab; it is not
 * part of the amigo build.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1024UL * 1024UL)
#define MAX_THREADS 64
#define SINK_MAGIC 0x616d6967u /* "amig" */

struct config {
  char cls[32];
  double report_s;
  unsigned long mem_mib;   /* 0 = class default */
  int threads;             /* 0 = one per online CPU */
  char sink[64];           /* ADDR:PORT */
  char disk[128];
  int iops;
  double speed;            /* seconds of trace per second */
  char trace[256];
  double on_s, off_s;
  double burst_s, quiet_s;
  char disk_file[256];     /* noise: file to hammer */
  int noise_cpu;
  int noise_disk;
};

static struct config cfg = {
  .cls = "idle",
  .report_s = 1.0,
  .sink = "192.168.77.1:7777",
  .disk = "",  /* set by the lab (amigo.disk=/dev/vda) only for guests with a disk */
  .iops = 100,
  .speed = 300.0,
  .trace = "/trace",
  .on_s = 10.0,
  .off_s = 10.0,
  .burst_s = 2.0,
  .quiet_s = 2.0,
};

static volatile sig_atomic_t stop_flag;
static unsigned long long c_ops, c_disk, c_tx, c_rx;
static int n_threads;
static char *g_mem;
static size_t g_mem_len;
static volatile size_t g_resident_len;  /* bytes of g_mem in use (replay, batch) */
static volatile int g_phase_on = 1;      /* batch: 1 while working */
static char g_phase[24] = "run";
static double g_start;

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
add (unsigned long long *c, unsigned long long v)
{
  __atomic_fetch_add (c, v, __ATOMIC_RELAXED);
}

static unsigned long long
get (unsigned long long *c)
{
  return __atomic_load_n (c, __ATOMIC_RELAXED);
}

static uint64_t
rng_next (uint64_t *s)
{
  /* xorshift64* */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static void
sleep_s (double s)
{
  if (s <= 0)
    return;
  struct timespec ts = { (time_t) s, (long) ((s - (time_t) s) * 1e9) };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR && !stop_flag)
    ;
}

/* A fixed amount of pure CPU work; returns a value so it is not optimised out. */
static uint64_t
spin_unit (uint64_t seed)
{
  uint64_t x = seed | 1;
  for (int i = 0; i < 20000; i++)
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

static unsigned long
mem_available_mib (void)
{
  FILE *f = fopen ("/proc/meminfo", "r");
  char line[256];
  unsigned long kb = 0;
  if (!f)
    return 64;
  while (fgets (line, sizeof line, f))
    if (sscanf (line, "MemAvailable: %lu kB", &kb) == 1)
      break;
  fclose (f);
  return kb / 1024;
}

static int
online_cpus (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : (int) n);
}

/* Reserve LEN bytes; touch them (write) if TOUCH. */
static char *
alloc_mem (size_t len, int touch)
{
  char *p = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    fprintf (stderr, "amigo-workload: cannot map %zu MiB: %s\n", len / MIB, strerror (errno));
    exit (1);
  }
  if (touch)
    for (size_t i = 0; i < len; i += PAGE)
      p[i] = (char) i;
  return p;
}

static unsigned long
default_mem_mib (double fraction)
{
  if (cfg.mem_mib)
    return cfg.mem_mib;
  unsigned long m = (unsigned long) (mem_available_mib () * fraction);
  return m < 8 ? 8 : m;
}

/* ---------------------------------------------------------------- network */

static int
sink_socket (void)
{
  char host[64];
  int port = 7777;
  struct sockaddr_in sa = { .sin_family = AF_INET };
  snprintf (host, sizeof host, "%s", cfg.sink);
  char *colon = strchr (host, ':');
  if (colon) {
    *colon = 0;
    port = atoi (colon + 1);
  }
  sa.sin_port = htons (port);
  if (inet_pton (AF_INET, host, &sa.sin_addr) != 1)
    return -1;
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  if (fd < 0)
    return -1;
  struct timeval tv = { 0, 100000 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
    close (fd);
    return -1;
  }
  return fd;
}

/* One request: LEN bytes out, asks the sink for REPLY bytes back. */
static int
request (int fd, size_t len, uint32_t reply)
{
  char buf[1500];
  uint32_t hdr[2] = { htonl (SINK_MAGIC), htonl (reply) };
  if (len > sizeof buf)
    len = sizeof buf;
  if (len < sizeof hdr)
    len = sizeof hdr;
  memset (buf, 'a', len);
  memcpy (buf, hdr, sizeof hdr);
  ssize_t n = send (fd, buf, len, 0);
  if (n <= 0)
    return 0;
  add (&c_tx, n);
  if (!reply)
    return 1;
  n = recv (fd, buf, sizeof buf, 0);
  if (n <= 0)
    return 0;
  add (&c_rx, n);
  return 1;
}

static int
run_sink (int port)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port),
                            .sin_addr.s_addr = htonl (INADDR_ANY) };
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
    fprintf (stderr, "amigo-workload sink: cannot bind UDP port %d: %s\n", port, strerror (errno));
    return 1;
  }
  fprintf (stderr, "amigo-workload sink: listening on UDP port %d\n", port);
  char buf[2048], out[1500];
  memset (out, 'r', sizeof out);
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom (fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &fl);
    if (n < 8)
      continue;
    uint32_t hdr[2];
    memcpy (hdr, buf, sizeof hdr);
    if (ntohl (hdr[0]) != SINK_MAGIC)
      continue;
    uint32_t want = ntohl (hdr[1]);
    if (want == 0)
      continue;
    if (want > sizeof out)
      want = sizeof out;
    sendto (fd, out, want, 0, (struct sockaddr *) &from, fl);
  }
}

/* ---------------------------------------------------------------- disk */

static int
open_disk (const char *path, int create)
{
  int fd = open (path, O_RDWR | O_DIRECT | (create ? O_CREAT : 0), 0600);
  if (fd < 0 && errno == EINVAL)  /* file system without O_DIRECT */
    fd = open (path, O_RDWR | O_DSYNC | (create ? O_CREAT : 0), 0600);
  return fd;
}

/* Steady random 4 KiB I/O at cfg.iops (70 % writes) on DISK; iops<=0: flat out. */
static void *
disk_thread (void *arg)
{
  const char *path = arg;
  if (!path[0])
    return NULL;
  int fd = open_disk (path, 0);
  if (fd < 0) {
    printf ("amigo-workload: no disk '%s' (%s): no disk I/O\n", path, strerror (errno));
    fflush (stdout);
    return NULL;
  }
  off_t size = lseek (fd, 0, SEEK_END);
  if (size < (off_t) (2 * PAGE))
    size = 64 * MIB;
  void *buf;
  if (posix_memalign (&buf, PAGE, PAGE))
    return NULL;
  memset (buf, 'd', PAGE);
  uint64_t seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t) getpid ();
  double next = now_s ();
  while (!stop_flag) {
    off_t off = (off_t) (rng_next (&seed) % (uint64_t) (size / PAGE)) * PAGE;
    ssize_t n;
    if (rng_next (&seed) % 10 < 7) {
      ((uint64_t *) buf)[0] = rng_next (&seed);
      n = pwrite (fd, buf, PAGE, off);
    } else {
      n = pread (fd, buf, PAGE, off);
    }
    if (n == (ssize_t) PAGE)
      add (&c_disk, 1);
    if (cfg.iops > 0) {
      next += 1.0 / cfg.iops;
      double d = next - now_s ();
      if (d > 0)
        sleep_s (d);
      else if (d < -1.0)
        next = now_s ();
    }
  }
  close (fd);
  return NULL;
}

/* ---------------------------------------------------------------- classes */

static void *
burn_thread (void *arg)
{
  uint64_t x = (uintptr_t) arg + 1;
  while (!stop_flag)
    if (g_phase_on) {
      x ^= spin_unit (x);
      add (&c_ops, 1);
    } else {
      sleep_s (0.05);
    }
  return (void *) (uintptr_t) (x & 1);
}

/* database: OLTP-like transactions on a big in-memory table: 3 random
 * record reads and one random record update each, so the whole working set
 * is dirtied continuously. */
static void *
db_thread (void *arg)
{
  uint64_t seed = 0x1234567ULL + (uintptr_t) arg * 7919;
  size_t nrec = g_mem_len / 64;
  uint64_t acc = 0;
  unsigned local = 0;
  while (!stop_flag) {
    for (int k = 0; k < 3; k++) {
      uint64_t *r = (uint64_t *) (g_mem + (rng_next (&seed) % nrec) * 64);
      acc += r[0] ^ r[3];
    }
    uint64_t *w = (uint64_t *) (g_mem + (rng_next (&seed) % nrec) * 64);
    w[0] = acc;
    w[1]++;
    w[7] = seed;
    if (++local == 4096) {
      add (&c_ops, local);
      local = 0;
    }
  }
  return (void *) (uintptr_t) (acc & 1);
}

/* web: bursts of requests, each some CPU (render) plus a UDP request to the
 * lab sink with a reply, separated by quiet periods with a trickle. */
static void *
web_thread (void *arg)
{
  uint64_t seed = 0xabcdefULL + (uintptr_t) arg * 104729;
  int fd = sink_socket ();
  uint64_t x = 1;
  double phase_end = now_s () + cfg.burst_s;
  int burst = 1;
  while (!stop_flag) {
    double t = now_s ();
    if (t >= phase_end) {
      burst = !burst;
      double mean = burst ? cfg.burst_s : cfg.quiet_s;
      phase_end = t + mean * (0.5 + (rng_next (&seed) % 1000) / 1000.0);
      if (arg == 0)
        snprintf (g_phase, sizeof g_phase, "%s", burst ? "burst" : "quiet");
    }
    int work = 1 + rng_next (&seed) % 4;
    for (int i = 0; i < work; i++)
      x ^= spin_unit (x + i);
    int ok = fd >= 0 ? request (fd, 200 + rng_next (&seed) % 1200, 1400) : 1;
    if (ok)
      add (&c_ops, 1);
    if (!burst)
      sleep_s (0.1);
  }
  if (fd >= 0)
    close (fd);
  return (void *) (uintptr_t) (x & 1);
}

/* ml: every thread multiplies tiles of a big read-mostly weight matrix with
 * its activation vector and updates a small gradient buffer. */
static void *
ml_thread (void *arg)
{
  const size_t tile = 64 * 1024 / sizeof (float);
  float *w = (float *) g_mem;
  size_t n = g_mem_len / sizeof (float);
  size_t ntiles = n / tile;
  float act[256], grad[256];
  for (int i = 0; i < 256; i++)
    act[i] = (float) (i % 7) * 0.01f, grad[i] = 0;
  size_t t = (uintptr_t) arg * 17;
  while (!stop_flag) {
    const float *p = w + (t % ntiles) * tile;
    for (size_t i = 0; i < tile; i += 256) {
      float s = 0;
      for (int j = 0; j < 256; j++)
        s += p[i + j] * act[j];
      grad[(i / 256) & 255] += s;
    }
    t++;
    add (&c_ops, 1);
  }
  return (void *) (uintptr_t) (grad[0] > 0);
}

/* ---------------------------------------------------------------- replay */

struct sample {
  double dur_s;      /* trace seconds this sample lasts */
  double cpu;        /* fraction of provisioned CPU, 0..1 */
  double mem;        /* fraction of provisioned memory, <0 = unknown */
  double net_kbs;    /* transmitted KB/s */
  double disk_kbs;   /* written KB/s */
};

static struct sample *g_trace;
static size_t g_trace_n;
static double g_trace_len_s;
static volatile double g_cpu_target;   /* 0..1 per vCPU */

static int
load_trace (const char *path)
{
  FILE *f = fopen (path, "r");
  if (!f) {
    printf ("amigo-workload: cannot open trace '%s': %s\n", path, strerror (errno));
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  size_t alloc = 1024;
  int bitbrains = -1;
  double last_ts = -1;
  g_trace = calloc (alloc, sizeof *g_trace);
  while (getline (&line, &cap, f) > 0) {
    if (bitbrains < 0) {
      bitbrains = strstr (line, "Timestamp") != NULL;
      if (bitbrains)
        continue;
    }
    struct sample s = { .dur_s = 300, .mem = -1 };
    if (bitbrains) {
      double v[11];
      char *p = line;
      int k;
      for (k = 0; k < 11; k++) {
        char *end;
        v[k] = strtod (p, &end);
        if (end == p)
          break;
        p = end;
        while (*p == ';' || *p == '\t' || *p == ' ')
          p++;
      }
      if (k < 11 || v[1] <= 0)       /* short row or a zero-core row */
        continue;
      if (v[0] == last_ts)           /* duplicate timestamp */
        continue;
      if (g_trace_n > 0 && last_ts >= 0)
        g_trace[g_trace_n - 1].dur_s = v[0] - last_ts;
      last_ts = v[0];
      s.cpu = v[4] / 100.0;
      s.mem = v[5] > 0 && v[6] > 0 ? v[6] / v[5] : -1;  /* 0 = missing reading */
      s.disk_kbs = v[8];
      s.net_kbs = v[10];
    } else {
      char *end;
      double pct = strtod (line, &end);
      if (end == line)
        continue;
      s.cpu = pct / 100.0;
    }
    if (s.cpu > 1)
      s.cpu = 1;
    if (s.cpu < 0)
      s.cpu = 0;
    if (s.mem > 1)
      s.mem = 1;
    if (g_trace_n == alloc) {
      alloc *= 2;
      g_trace = realloc (g_trace, alloc * sizeof *g_trace);
    }
    g_trace[g_trace_n++] = s;
  }
  free (line);
  fclose (f);
  for (size_t i = 0; i < g_trace_n; i++) {
    if (g_trace[i].dur_s <= 0 || g_trace[i].dur_s > 86400)
      g_trace[i].dur_s = 300;
    g_trace_len_s += g_trace[i].dur_s;
  }
  printf ("amigo-workload: trace '%s' (%s): %zu samples, %.1f h, speed %.0fx\n", path,
          bitbrains ? "bitbrains" : "planetlab", g_trace_n, g_trace_len_s / 3600, cfg.speed);
  fflush (stdout);
  return g_trace_n ? 0 : -1;
}

/* Duty-cycle CPU thread following g_cpu_target in 100 ms slots. */
static void *
replay_cpu_thread (void *arg)
{
  uint64_t x = (uintptr_t) arg + 3;
  while (!stop_flag) {
    double slot_start = now_s ();
    double busy = 0.1 * g_cpu_target;
    while (now_s () - slot_start < busy && !stop_flag) {
      x ^= spin_unit (x);
      add (&c_ops, 1);
    }
    sleep_s (0.1 - (now_s () - slot_start));
  }
  return (void *) (uintptr_t) (x & 1);
}

static void *
replay_net_thread (void *arg)
{
  int fd = sink_socket ();
  volatile double *kbs = arg;
  while (!stop_flag && fd >= 0) {
    double rate = *kbs;                 /* KB/s, capped below */
    if (rate > 4096)
      rate = 4096;
    int n = (int) (rate * 1024 / 1400 / 10);   /* datagrams per 100 ms */
    double t0 = now_s ();
    for (int i = 0; i < n && !stop_flag; i++)
      request (fd, 1400, 0);
    sleep_s (0.1 - (now_s () - t0));
  }
  return NULL;
}

static volatile double g_net_kbs;

static void
replay_step (double t)
{
  /* Called from the main loop: map wall time to trace time, set targets. */
  double tt = fmod (t * cfg.speed, g_trace_len_s);
  size_t i = 0;
  double acc = 0;
  while (i < g_trace_n - 1 && acc + g_trace[i].dur_s <= tt)
    acc += g_trace[i++].dur_s;
  const struct sample *s = &g_trace[i];
  g_cpu_target = s->cpu;
  g_net_kbs = s->net_kbs;
  cfg.iops = (int) (s->disk_kbs / 4);  /* 4 KiB per I/O; 0 pauses */
  static double mem_frac = 0.25;   /* until the trace gives a reading */
  if (s->mem >= 0)
    mem_frac = s->mem;
  size_t want = (size_t) (mem_frac * g_mem_len);
  want &= ~(PAGE - 1);
  if (want > g_resident_len) {
    for (size_t o = g_resident_len; o < want; o += PAGE)
      g_mem[o] = 1;
  } else if (want < g_resident_len) {
    madvise (g_mem + want, g_resident_len - want, MADV_DONTNEED);
  }
  g_resident_len = want;
  /* keep 1/16 of the resident set warm (rewritten) per step */
  for (size_t o = 0; o < want / 16; o += PAGE)
    g_mem[(o * 16) % (want ? want : PAGE)]++;
  snprintf (g_phase, sizeof g_phase, "trace_h=%.2f,cpu=%.0f%%", tt / 3600, s->cpu * 100);
}

/* replay disk: I/O only while the trace asks for it */
static void *
replay_disk_thread (void *arg)
{
  while (!stop_flag) {
    if (cfg.iops <= 0) {
      sleep_s (0.2);
      continue;
    }
    disk_thread (arg);   /* returns only on stop or without a disk */
    return NULL;
  }
  return NULL;
}

/* ---------------------------------------------------------------- noise */

static void *
noise_mem_thread (void *arg)
{
  while (!stop_flag) {
    for (size_t o = 0; o < g_mem_len && !stop_flag; o += PAGE)
      g_mem[o]++;
    add (&c_ops, 1);
  }
  return NULL;
}

static void *
noise_disk_thread (void *arg)
{
  const char *path = arg;
  int fd = open_disk (path, 1);
  if (fd < 0) {
    fprintf (stderr, "amigo-workload noise: cannot open '%s': %s\n", path, strerror (errno));
    return NULL;
  }
  if (ftruncate (fd, 64 * MIB) < 0)
    return NULL;
  close (fd);
  cfg.iops = 2000;  /* heavy, but bounded: the lab machine is shared */
  return disk_thread (arg);
}

/* ---------------------------------------------------------------- main */

static void
set_kv (const char *k, const char *v)
{
  if (!strcmp (k, "class"))
    snprintf (cfg.cls, sizeof cfg.cls, "%s", v);
  else if (!strcmp (k, "report"))
    cfg.report_s = atof (v);
  else if (!strcmp (k, "mem"))
    cfg.mem_mib = strtoul (v, NULL, 10);
  else if (!strcmp (k, "threads"))
    cfg.threads = atoi (v);
  else if (!strcmp (k, "sink"))
    snprintf (cfg.sink, sizeof cfg.sink, "%s", v);
  else if (!strcmp (k, "disk"))
    snprintf (cfg.disk, sizeof cfg.disk, "%s", v);
  else if (!strcmp (k, "iops"))
    cfg.iops = atoi (v);
  else if (!strcmp (k, "speed"))
    cfg.speed = atof (v);
  else if (!strcmp (k, "trace"))
    snprintf (cfg.trace, sizeof cfg.trace, "%s", v);
  else if (!strcmp (k, "on"))
    cfg.on_s = atof (v);
  else if (!strcmp (k, "off"))
    cfg.off_s = atof (v);
  else if (!strcmp (k, "burst"))
    cfg.burst_s = atof (v);
  else if (!strcmp (k, "quiet"))
    cfg.quiet_s = atof (v);
  else if (!strcmp (k, "cpu"))
    cfg.noise_cpu = atoi (v);
  else if (!strcmp (k, "file"))
    snprintf (cfg.disk_file, sizeof cfg.disk_file, "%s", v);
}

static void
parse_kv (const char *tok, const char *prefix)
{
  size_t pl = strlen (prefix);
  if (strncmp (tok, prefix, pl))
    return;
  char k[64];
  const char *eq = strchr (tok + pl, '=');
  if (!eq || (size_t) (eq - tok - pl) >= sizeof k)
    return;
  memcpy (k, tok + pl, eq - tok - pl);
  k[eq - tok - pl] = 0;
  set_kv (k, eq + 1);
}

static void
parse_cmdline (void)
{
  FILE *f = fopen ("/proc/cmdline", "r");
  char buf[4096];
  if (!f)
    return;
  if (fgets (buf, sizeof buf, f)) {
    char *save = NULL;
    for (char *tok = strtok_r (buf, " \n", &save); tok; tok = strtok_r (NULL, " \n", &save))
      parse_kv (tok, "amigo.");
  }
  fclose (f);
}

static void
on_signal (int sig)
{
  stop_flag = 1;
}

static void
start_threads (void *(*fn) (void *), int n)
{
  for (int i = 0; i < n; i++) {
    pthread_t t;
    pthread_create (&t, NULL, fn, (void *) (uintptr_t) i);
    pthread_detach (t);
  }
}

int
main (int argc, char **argv)
{
  int noise = 0;
  int from_guest = 1;

  setvbuf (stdout, NULL, _IOLBF, 0);
  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);
  signal (SIGPIPE, SIG_IGN);

  if (argc > 1 && !strcmp (argv[1], "sink"))
    return run_sink (argc > 2 ? atoi (argv[2]) : 7777);
  if (argc > 1 && !strcmp (argv[1], "noise")) {
    noise = 1;
    from_guest = 0;
    snprintf (cfg.cls, sizeof cfg.cls, "noise");
  }
  for (int i = 1 + noise; i < argc; i++)
    if (strchr (argv[i], '='))
      from_guest = 0;
  if (from_guest)
    parse_cmdline ();
  for (int i = 1 + noise; i < argc; i++)
    parse_kv (argv[i], "");

  n_threads = cfg.threads > 0 ? cfg.threads : online_cpus ();
  if (n_threads > MAX_THREADS)
    n_threads = MAX_THREADS;
  g_start = now_s ();

  pthread_t tid;
  if (noise) {
    if (cfg.noise_cpu > 0)
      start_threads (burn_thread, cfg.noise_cpu);
    if (cfg.mem_mib > 0) {
      g_mem_len = cfg.mem_mib * MIB;
      g_mem = alloc_mem (g_mem_len, 1);
      pthread_create (&tid, NULL, noise_mem_thread, NULL);
    }
    if (cfg.disk_file[0])
      pthread_create (&tid, NULL, noise_disk_thread, cfg.disk_file);
  } else if (!strcmp (cfg.cls, "idle")) {
    /* nothing: wake up once per report period */
  } else if (!strcmp (cfg.cls, "burn")) {
    start_threads (burn_thread, 1);
  } else if (!strcmp (cfg.cls, "database")) {
    g_mem_len = default_mem_mib (0.5) * MIB;
    g_mem = alloc_mem (g_mem_len, 1);
    start_threads (db_thread, n_threads);
    pthread_create (&tid, NULL, disk_thread, cfg.disk);
  } else if (!strcmp (cfg.cls, "web")) {
    start_threads (web_thread, n_threads);
  } else if (!strcmp (cfg.cls, "ml")) {
    g_mem_len = default_mem_mib (0.6) * MIB;
    g_mem = alloc_mem (g_mem_len, 1);
    start_threads (ml_thread, n_threads);
  } else if (!strcmp (cfg.cls, "batch")) {
    g_mem_len = default_mem_mib (0.25) * MIB;
    g_mem = alloc_mem (g_mem_len, 1);
    g_resident_len = g_mem_len;
    snprintf (g_phase, sizeof g_phase, "on");
    start_threads (burn_thread, n_threads);
  } else if (!strcmp (cfg.cls, "replay")) {
    if (load_trace (cfg.trace) < 0)
      return 1;
    g_mem_len = default_mem_mib (0.6) * MIB;
    g_mem = alloc_mem (g_mem_len, 0);
    replay_step (0);
    start_threads (replay_cpu_thread, n_threads);
    pthread_create (&tid, NULL, replay_net_thread, (void *) &g_net_kbs);
    pthread_create (&tid, NULL, replay_disk_thread, cfg.disk);
  } else {
    printf ("amigo-workload: unknown class '%s' (idle burn database web ml batch replay)\n", cfg.cls);
    return 2;
  }

  printf ("amigo-workload start class=%s threads=%d mem_MiB=%zu\n", cfg.cls, n_threads,
          g_mem_len / MIB);

  unsigned long long last_ops = 0, last_disk = 0, last_tx = 0, last_rx = 0;
  double last = now_s ();
  double step = cfg.report_s > 0 ? cfg.report_s : 1.0;
  double next = last + step;
  while (!stop_flag) {
    char label[sizeof g_phase];
    snprintf (label, sizeof label, "%s", g_phase);  /* the phase the period ran in */
    if (!strcmp (cfg.cls, "replay")) {
      sleep_s (0.1);
      replay_step (now_s () - g_start);
      if (now_s () < next)
        continue;
    } else if (!strcmp (cfg.cls, "batch")) {
      sleep_s (next - now_s ());
      double period = cfg.on_s + cfg.off_s;
      double in = fmod (now_s () - g_start, period > 0 ? period : 1);
      int on = in < cfg.on_s;
      if (on && !g_phase_on)
        for (size_t o = 0; o < g_mem_len; o += PAGE)
          g_mem[o]++;
      else if (!on && g_phase_on)
        madvise (g_mem, g_mem_len, MADV_DONTNEED);
      g_phase_on = on;
      g_resident_len = on ? g_mem_len : 0;
      snprintf (g_phase, sizeof g_phase, "%s", on ? "on" : "off");
    } else {
      sleep_s (next - now_s ());
    }
    double t = now_s ();
    double dt = t - last;
    unsigned long long o = get (&c_ops), d = get (&c_disk), tx = get (&c_tx), rx = get (&c_rx);
    size_t mem = g_mem_len;
    if (!strcmp (cfg.cls, "replay") || !strcmp (cfg.cls, "batch"))
      mem = g_resident_len;
    printf ("amigo-workload t=%.1f class=%s ops/s=%.0f total=%llu mem_MiB=%zu disk_iops=%.0f "
            "net_tx_kB/s=%.1f net_rx_kB/s=%.1f phase=%s\n",
            t - g_start, cfg.cls, (o - last_ops) / dt, o, mem / MIB, (d - last_disk) / dt,
            (tx - last_tx) / dt / 1024, (rx - last_rx) / dt / 1024,
            strcmp (cfg.cls, "batch") ? g_phase : label);
    last_ops = o, last_disk = d, last_tx = tx, last_rx = rx;
    last = t;
    next += step;
    if (next < t)
      next = t + step;
  }
  return 0;
}
