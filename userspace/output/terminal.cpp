#include "output/terminal.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace pgstall::output {
namespace {

// ?1049: the alternate screen (xterm; saves and restores the cursor, and
// clears the alternate screen on entry); ?25: the cursor's visibility.
constexpr char kEnter[] = "\x1b[?1049h\x1b[?25l";
constexpr char kLeave[] = "\x1b[0m\x1b[?25h\x1b[?1049l";

volatile std::sig_atomic_t g_redraw = 0;

constexpr int kFatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT};
struct sigaction g_old_fatal[sizeof kFatal / sizeof kFatal[0]];
struct sigaction g_old_winch, g_old_tstp;

// write(2) only: these run in signal handlers.
void put(const char* s, size_t n) {
  while (n > 0) {
    const ssize_t w = write(STDOUT_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void on_winch(int) { g_redraw = 1; }

// A crash leaves the terminal as it found it, then dies of its signal.
void on_fatal(int sig) {
  put(kLeave, sizeof kLeave - 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

void set_handler(int sig, void (*fn)(int), struct sigaction* old, int flags = SA_RESTART) {
  struct sigaction sa {};
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, old);
}

// Ctrl-Z: the shell's screen while stopped, the view again once continued.
// The stop itself is the default action, taken here (the signal unblocked
// inside the handler), so this goes on after SIGCONT — or at once where the
// kernel discards the stop (an orphaned process group).
void on_tstp(int) {
  const int saved = errno;
  put(kLeave, sizeof kLeave - 1);
  signal(SIGTSTP, SIG_DFL);
  raise(SIGTSTP);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTSTP);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);  // stops here
  set_handler(SIGTSTP, on_tstp, nullptr);
  put(kEnter, sizeof kEnter - 1);
  g_redraw = 1;
  errno = saved;
}

}  // namespace

Terminal::Terminal() {
  put(kEnter, sizeof kEnter - 1);
  g_redraw = 0;
  for (size_t i = 0; i < sizeof kFatal / sizeof kFatal[0]; ++i)
    set_handler(kFatal[i], on_fatal, &g_old_fatal[i], SA_RESETHAND);
  set_handler(SIGWINCH, on_winch, &g_old_winch);
  set_handler(SIGTSTP, on_tstp, &g_old_tstp);
}

Terminal::~Terminal() {
  for (size_t i = 0; i < sizeof kFatal / sizeof kFatal[0]; ++i) sigaction(kFatal[i], &g_old_fatal[i], nullptr);
  sigaction(SIGWINCH, &g_old_winch, nullptr);
  sigaction(SIGTSTP, &g_old_tstp, nullptr);
  put(kLeave, sizeof kLeave - 1);
}

bool Terminal::take_redraw() {
  if (!g_redraw) return false;
  g_redraw = 0;
  return true;
}

}  // namespace pgstall::output
