#pragma once
// Where events go: JSON lines (--json), plain lines (--plain, or stdout not a
// terminal), or the live view on a terminal, which shows notes in its notice
// area instead; and every event's JSON to the recording when there is one.
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "output/events.h"

namespace pgstall::output {

enum class Mode { Json, Plain, Live };

class Sink {
 public:
  Sink(Mode mode, std::ostream& out) : mode_(mode), out_(out) {}

  // Every event's JSON also goes here (the recording).
  void record_to(std::function<void(const nlohmann::json&)> record) { record_ = std::move(record); }
  void emit(const Out& e);
  // A line for the operator in every mode (the end summary outside JSON).
  void print(const std::string& line);

  Mode mode() const { return mode_; }
  // The live view's notice area: the newest notes, oldest first.
  std::vector<std::string> recent_notes(size_t n) const;
  void add_note(const std::string& note) { notes_.push_back(note); }

 private:
  Mode mode_;
  std::ostream& out_;
  std::function<void(const nlohmann::json&)> record_;
  std::vector<std::string> notes_;
};

}  // namespace pgstall::output
