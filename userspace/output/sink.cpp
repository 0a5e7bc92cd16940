#include "output/sink.h"

#include <algorithm>

namespace pgstall::output {

void Sink::emit(const Out& e) {
  if (record_) record_(e.json);
  if (mode_ == Mode::Json)
    out_ << e.json.dump() << "\n";
  else if (mode_ == Mode::Plain && !e.line.empty())
    out_ << e.line << "\n";
  out_.flush();
  if (mode_ == Mode::Live && !e.view_note.empty()) notes_.push_back(e.view_note);
}

void Sink::print(const std::string& line) { out_ << line << "\n" << std::flush; }

std::vector<std::string> Sink::recent_notes(size_t n) const {
  return {notes_.end() - std::min(n, notes_.size()), notes_.end()};
}

}  // namespace pgstall::output
