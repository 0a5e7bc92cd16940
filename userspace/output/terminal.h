#pragma once
// The terminal while the live view runs: the alternate screen (the view
// does not fill the scrollback, and the shell's screen comes back intact)
// with the cursor hidden, both restored on every way out — the normal end,
// Ctrl-C, SIGTERM, SIGHUP and --duration (the loop ends and this is
// destroyed), an error or exception (destroyed while unwinding), a crash or
// abort (a handler restores, then the signal does what it would have), and
// Ctrl-Z (restored while stopped, entered again when continued). Only for a
// terminal: with --json, --plain or a pipe nothing of this is written.
namespace pgstall::output {

class Terminal {
 public:
  Terminal();  // enters the alternate screen and hides the cursor
  ~Terminal();  // shows the cursor and leaves the alternate screen
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // The window changed size (SIGWINCH), or the screen has to be drawn anew
  // (back from Ctrl-Z), since the last call.
  static bool take_redraw();
};

}  // namespace pgstall::output
