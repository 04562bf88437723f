// SPDX-License-Identifier: GPL-2.0
/* Small helpers: messages, clocks, sizes, signals. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rig.h"

static volatile sig_atomic_t stop_signal;

void die(const char *fmt, ...)
{
	va_list ap;

	fputs("rig: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p)
		die("out of memory");
	return p;
}

/* Cut the white space off both ends of S, in place. */
char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* "512M", "1G", "4096", "2k": bytes.  Returns -1 on anything else. */
int parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': case 'g':
		v <<= 10;
		fallthrough;
	case 'M': case 'm':
		v <<= 10;
		fallthrough;
	case 'K': case 'k':
		v <<= 10;
		end++;
		break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* "+1G", "-512M", "0": a signed size. */
int parse_delta(const char *s, long long *out)
{
	unsigned long long v;
	int sign = 1;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (parse_size(s, &v))
		return -1;
	*out = sign * (long long)v;
	return 0;
}

void fmt_size(unsigned long long bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % (1ULL << 30)))
		snprintf(buf, len, "%lluG", bytes >> 30);
	else if (bytes && !(bytes % (1ULL << 20)))
		snprintf(buf, len, "%lluM", bytes >> 20);
	else
		snprintf(buf, len, "%llu", bytes);
}

/*
 * Split a table line at '|' into at most max trimmed fields; returns how
 * many, or -1 when there are more.
 */
int split_bars(char *line, char **field, int max)
{
	char *p = line;
	int n;

	for (n = 0; n < max && p; n++) {
		field[n] = p;
		p = strchr(p, '|');
		if (p)
			*p++ = '\0';
		field[n] = trim(field[n]);
	}
	return p ? -1 : n;
}

/* fopen() of DIR/NAME */
FILE *fopen_in(const char *dir, const char *name, const char *mode)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fopen(path, mode);
}

/* mkdir -p: every missing directory of path; 0 or -1 with errno. */
int mkdir_p(const char *path)
{
	char buf[1024], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

static void (*second_signal_hook)(void);

/* Run at a second signal before the rig exits at once (kills its QEMU). */
void on_second_signal(void (*hook)(void))
{
	second_signal_hook = hook;
}

/*
 * The first signal asks every loop to stop and the run to be reported;
 * a second one stops at once.
 */
static void on_signal(int sig)
{
	if (stop_signal) {
		if (second_signal_hook)
			second_signal_hook();
		_exit(128 + sig);
	}
	stop_signal = sig;
}

bool stop_requested(void)
{
	return stop_signal != 0;
}

void install_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Is OPTION=y in the .config next to the kernel image? */
bool kernel_option_set(const char *image, const char *option)
{
	char path[700], line[256], want[160];
	bool set = false;
	FILE *f;

	snprintf(path, sizeof(path), "%.*s.config", (int)(strrchr(image, '/') + 1 - image), image);
	snprintf(want, sizeof(want), "%s=y\n", option);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!set && fgets(line, sizeof(line), f))
		set = !strcmp(line, want);
	fclose(f);
	return set;
}
