#pragma once
// A tiny terminal for tests: enough of a VT100/xterm to rebuild the screen
// the live view draws — printable UTF-8, CR, LF, cursor home/position (CSI H),
// erase in line (CSI K), erase below / all (CSI J), colours and attributes
// (CSI m), the alternate screen (CSI ?1049 h/l) and the cursor's visibility
// (CSI ?25 h/l). Anything else is recorded in `unknown`, so a test can say
// the view used nothing this does not understand. It also counts what the
// view must never do: a line wider than the screen (an automatic wrap), a
// scroll, a full clear.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace pgstall::vt {

struct Cell {
  std::string ch = " ";  // one UTF-8 code point
  bool bold = false, reverse = false;
  int fg = -1;  // 30-37 minus 30; -1 default
};

class Screen {
 public:
  Screen(int cols, int rows) { resize(cols, rows); }

  void resize(int cols, int rows) {
    cols_ = cols;
    rows_ = rows;
    for (auto* g : {&main_, &alt_}) {
      g->resize(rows);
      for (auto& r : *g) r.resize(cols);
    }
    last_ch_ = nullptr;
    row_ = std::min(row_, rows_ - 1);
    col_ = std::min(col_, cols_ - 1);
    pending_wrap_ = false;
  }

  void feed(const std::string& bytes) {
    for (char c : bytes) byte(static_cast<unsigned char>(c));
  }

  // The text of a row, trailing spaces removed.
  std::string line(int r) const {
    std::string s;
    for (const auto& c : grid()[r]) s += c.ch;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (int r = 0; r < rows_; ++r) out.push_back(line(r));
    return out;
  }
  std::string text() const {
    std::string s;
    for (int r = 0; r < rows_; ++r) s += line(r) + "\n";
    return s;
  }
  const Cell& cell(int r, int c) const { return grid()[r][c]; }
  int cols() const { return cols_; }
  int rows() const { return rows_; }

  bool alternate = false, cursor_visible = true;
  int alt_entries = 0, alt_exits = 0;
  // On whichever screen; the same on the alternate screen only (a program's
  // own messages before it enters it are not the view's).
  int autowraps = 0, scrolls = 0, full_clears = 0;
  int alt_autowraps = 0, alt_scrolls = 0, alt_full_clears = 0;
  std::vector<std::string> unknown;

 private:
  using Grid = std::vector<std::vector<Cell>>;
  Grid& grid() { return alternate ? alt_ : main_; }
  const Grid& grid() const { return alternate ? alt_ : main_; }

  void byte(unsigned char c) {
    if (state_ == State::Esc) {
      if (c == '[') {
        state_ = State::Csi;
        params_.clear();
      } else {
        unknown.push_back(std::string("ESC ") + static_cast<char>(c));
        state_ = State::Ground;
      }
      return;
    }
    if (state_ == State::Csi) {
      if ((c >= '0' && c <= '9') || c == ';' || c == '?') {
        params_ += static_cast<char>(c);
        return;
      }
      state_ = State::Ground;
      csi(static_cast<char>(c));
      return;
    }
    if (c == 0x1b) {
      state_ = State::Esc;
    } else if (c == '\r') {
      col_ = 0;
      pending_wrap_ = false;
    } else if (c == '\n') {
      pending_wrap_ = false;
      line_feed();
    } else if (c >= 0x80 && c < 0xc0) {  // a UTF-8 continuation byte
      if (last_ch_) *last_ch_ += static_cast<char>(c);
    } else if (c >= 0x20) {
      put(std::string(1, static_cast<char>(c)));
    } else {
      unknown.push_back("control " + std::to_string(c));
    }
  }

  void line_feed() {
    last_ch_ = nullptr;
    if (row_ + 1 < rows_) {
      ++row_;
      return;
    }
    ++scrolls;
    alt_scrolls += alternate;
    auto& g = grid();
    g.erase(g.begin());
    g.push_back(std::vector<Cell>(cols_));
  }

  void put(const std::string& ch) {
    if (pending_wrap_) {
      ++autowraps;
      alt_autowraps += alternate;
      col_ = 0;
      pending_wrap_ = false;
      line_feed();
    }
    Cell& cell = grid()[row_][col_];
    cell = attr_;
    cell.ch = ch;
    last_ch_ = &cell.ch;
    if (col_ + 1 < cols_)
      ++col_;
    else
      pending_wrap_ = true;
  }

  std::vector<int> numbers(bool& priv) const {
    std::vector<int> out;
    std::string p = params_;
    priv = !p.empty() && p[0] == '?';
    if (priv) p.erase(0, 1);
    size_t pos = 0;
    while (pos <= p.size()) {
      const size_t end = std::min(p.find(';', pos), p.size());
      out.push_back(end > pos ? std::stoi(p.substr(pos, end - pos)) : -1);
      pos = end + 1;
    }
    return out;
  }

  void erase(int r, int from, int to) {
    for (int c = from; c < to; ++c) grid()[r][c] = Cell{};
  }

  void csi(char final) {
    bool priv = false;
    const auto n = numbers(priv);
    const int p0 = n.empty() ? -1 : n[0];
    last_ch_ = nullptr;
    if (priv && (final == 'h' || final == 'l')) {
      const bool on = final == 'h';
      if (p0 == 1049) {
        if (on && !alternate) {
          ++alt_entries;
          alternate = true;
          for (int r = 0; r < rows_; ++r) erase(r, 0, cols_);
        } else if (!on && alternate) {
          ++alt_exits;
          alternate = false;
        }
      } else if (p0 == 25) {
        cursor_visible = on;
      } else {
        unknown.push_back("CSI " + params_ + final);
      }
      return;
    }
    if (priv) {
      unknown.push_back("CSI " + params_ + final);
      return;
    }
    switch (final) {
      case 'H': {
        const int r = p0 > 0 ? p0 : 1, c = n.size() > 1 && n[1] > 0 ? n[1] : 1;
        row_ = std::min(r, rows_) - 1;
        col_ = std::min(c, cols_) - 1;
        pending_wrap_ = false;
        break;
      }
      case 'K':
        if (p0 <= 0) erase(row_, col_, cols_);
        else if (p0 == 1) erase(row_, 0, col_ + 1);
        else erase(row_, 0, cols_);
        break;
      case 'J':
        if (p0 == 2 || p0 == 3) {
          ++full_clears;
          alt_full_clears += alternate;
          for (int r = 0; r < rows_; ++r) erase(r, 0, cols_);
        } else if (p0 <= 0) {
          erase(row_, col_, cols_);
          for (int r = row_ + 1; r < rows_; ++r) erase(r, 0, cols_);
        } else {
          unknown.push_back("CSI " + params_ + final);
        }
        break;
      case 'm':
        for (int v : n) {
          if (v <= 0) attr_ = Cell{};
          else if (v == 1) attr_.bold = true;
          else if (v == 7) attr_.reverse = true;
          else if (v == 22) attr_.bold = false;
          else if (v == 27) attr_.reverse = false;
          else if (v >= 30 && v <= 37) attr_.fg = v - 30;
          else if (v == 39) attr_.fg = -1;
          else unknown.push_back("SGR " + std::to_string(v));
        }
        break;
      default:
        unknown.push_back("CSI " + params_ + final);
    }
  }

  enum class State { Ground, Esc, Csi };
  State state_ = State::Ground;
  std::string params_;
  int cols_ = 0, rows_ = 0, row_ = 0, col_ = 0;
  bool pending_wrap_ = false;
  Cell attr_;
  std::string* last_ch_ = nullptr;
  Grid main_, alt_;
};

}  // namespace pgstall::vt
