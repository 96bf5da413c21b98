// SEARCH arguments (RFC 9051 §6.4.4, every key; ESEARCH RETURN options
// RFC 4731; SEARCHRES "$" RFC 5182; MODSEQ RFC 7162 §3.1.5; WITHIN RFC 5032).
// Recursion (NOT, OR, parentheses) is bounded and the number of keys is
// capped, so a hostile 10k-term OR costs bounded work (I8).
#include "homthu/imap/proto/args.hpp"

#include "homthu/imap/proto/writer.hpp"

namespace homthu::imap::proto {

namespace {

constexpr int max_search_depth = 32;
constexpr std::size_t max_search_keys = 2000;

struct search_parser {
  lexer& lex;
  std::size_t keys = 0;

  bool date(search_key& k) {
    if (!lex.sp()) {
      return false;
    }
    auto s = lex.astring();
    if (!s || !parse_date(*s, k.date)) {
      return lex.fail("Invalid date");
    }
    return true;
  }

  bool str(search_key& k) {
    if (!lex.sp()) {
      return false;
    }
    auto s = lex.astring();
    if (!s) {
      return false;
    }
    k.value = std::move(*s);
    return true;
  }

  bool key(search_key& k, int depth) {
    if (depth > max_search_depth) {
      return lex.fail("Search too deeply nested");
    }
    if (++keys > max_search_keys) {
      return lex.fail("Too many search keys");
    }
    using kind = search_key::kind;
    if (lex.peek() == '(') {
      if (!lex.open()) {
        return false;
      }
      k.k = kind::and_;
      return list(k, depth + 1, true);
    }
    char c = lex.peek();
    if ((c >= '0' && c <= '9') || c == '*' || c == '$') {
      auto set = parse_seqset(lex);
      if (!set) {
        return false;
      }
      k.k = kind::seqset;
      k.set = std::move(*set);
      return true;
    }
    auto a = lex.atom();
    if (!a) {
      return false;
    }
    auto n = upper(*a);
    static const std::pair<const char*, kind> simple[] = {
        {"ALL", kind::all}, {"ANSWERED", kind::answered}, {"DELETED", kind::deleted},
        {"DRAFT", kind::draft}, {"FLAGGED", kind::flagged}, {"SEEN", kind::seen},
        {"RECENT", kind::recent}, {"NEW", kind::new_}, {"OLD", kind::old},
        {"UNANSWERED", kind::unanswered}, {"UNDELETED", kind::undeleted},
        {"UNDRAFT", kind::undraft}, {"UNFLAGGED", kind::unflagged}, {"UNSEEN", kind::unseen},
    };
    for (auto& [name, kk] : simple) {
      if (n == name) {
        k.k = kk;
        return true;
      }
    }
    static const std::pair<const char*, kind> strings[] = {
        {"BCC", kind::bcc}, {"BODY", kind::body}, {"CC", kind::cc}, {"FROM", kind::from},
        {"SUBJECT", kind::subject}, {"TEXT", kind::text}, {"TO", kind::to},
    };
    for (auto& [name, kk] : strings) {
      if (n == name) {
        k.k = kk;
        return str(k);
      }
    }
    static const std::pair<const char*, kind> dates[] = {
        {"BEFORE", kind::before}, {"ON", kind::on}, {"SINCE", kind::since},
        {"SENTBEFORE", kind::sentbefore}, {"SENTON", kind::senton}, {"SENTSINCE", kind::sentsince},
    };
    for (auto& [name, kk] : dates) {
      if (n == name) {
        k.k = kk;
        return date(k);
      }
    }
    if (n == "KEYWORD" || n == "UNKEYWORD") {
      k.k = n == "KEYWORD" ? kind::keyword : kind::unkeyword;
      if (!lex.sp()) {
        return false;
      }
      auto f = lex.atom();
      if (!f) {
        return false;
      }
      k.value = std::string(*f);
      return true;
    }
    if (n == "LARGER" || n == "SMALLER" || n == "OLDER" || n == "YOUNGER") {
      k.k = n == "LARGER" ? kind::larger : n == "SMALLER" ? kind::smaller : n == "OLDER" ? kind::older
                                                                                     : kind::younger;
      if (!lex.sp()) {
        return false;
      }
      auto v = lex.number64();
      if (!v) {
        return false;
      }
      k.number = *v;
      return true;
    }
    if (n == "HEADER") {
      k.k = kind::header;
      if (!lex.sp()) {
        return false;
      }
      auto f = lex.astring();
      if (!f) {
        return false;
      }
      k.field = upper(*f);
      return str(k);
    }
    if (n == "UID") {
      k.k = kind::uid;
      if (!lex.sp()) {
        return false;
      }
      auto set = parse_seqset(lex);
      if (!set) {
        return false;
      }
      k.set = std::move(*set);
      return true;
    }
    if (n == "MODSEQ") {
      // MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer
      k.k = kind::modseq;
      if (!lex.sp()) {
        return false;
      }
      if (lex.peek() == '"') {
        auto entry = lex.string();
        if (!entry || !lex.sp() || !lex.atom() || !lex.sp()) {
          return false;
        }
      }
      auto v = lex.number64();
      if (!v) {
        return false;
      }
      k.number = *v;
      return true;
    }
    if (n == "NOT") {
      k.k = kind::not_;
      k.children.resize(1);
      return lex.sp() && key(k.children[0], depth + 1);
    }
    if (n == "OR") {
      k.k = kind::or_;
      k.children.resize(2);
      return lex.sp() && key(k.children[0], depth + 1) && lex.sp() && key(k.children[1], depth + 1);
    }
    return lex.fail("Unknown search key " + n);
  }

  // Space-separated keys until ')' (in_parens) or the end of the command.
  bool list(search_key& parent, int depth, bool in_parens) {
    for (;;) {
      search_key k;
      if (!key(k, depth)) {
        return false;
      }
      parent.children.push_back(std::move(k));
      if (in_parens && lex.skip(')')) {
        return true;
      }
      if (!in_parens && lex.at_end()) {
        return true;
      }
      if (!lex.sp()) {
        return false;
      }
    }
  }
};

bool parse_charset(lexer& lex, std::string& charset) {
  if (lex.next_is("CHARSET")) {
    lex.atom();
    if (!lex.sp()) {
      return false;
    }
    auto cs = lex.astring();
    if (!cs || !lex.sp()) {
      return false;
    }
    charset = upper(*cs);
    return true;
  }
  return true;
}

}  // namespace

std::optional<search_key> parse_search_keys(lexer& lex) {
  search_parser p{lex};
  search_key root;
  root.k = search_key::kind::and_;
  if (!p.list(root, 0, false)) {
    return std::nullopt;
  }
  return root;
}

std::optional<search_args> parse_search(lexer& lex) {
  search_args a;
  if (lex.next_is("RETURN")) {
    lex.atom();
    a.esearch = true;
    if (!lex.sp() || !lex.open()) {
      return std::nullopt;
    }
    while (!lex.skip(')')) {
      if (!a.returns.empty() && !lex.sp()) {
        return std::nullopt;
      }
      auto o = lex.atom();
      if (!o) {
        return std::nullopt;
      }
      auto n = upper(*o);
      if (n != "MIN" && n != "MAX" && n != "ALL" && n != "COUNT" && n != "SAVE") {
        lex.fail("Unknown RETURN option " + n);
        return std::nullopt;
      }
      a.returns.push_back(std::move(n));
    }
    if (!lex.sp()) {
      return std::nullopt;
    }
  }
  if (!parse_charset(lex, a.charset)) {
    return std::nullopt;
  }
  auto root = parse_search_keys(lex);
  if (!root) {
    return std::nullopt;
  }
  a.root = std::move(*root);
  return a;
}

std::optional<sort_args> parse_sort(lexer& lex) {
  // RFC 5256 §3: SORT (criteria) charset keys; RFC 5957 DISPLAYFROM/DISPLAYTO.
  sort_args a;
  if (!lex.open()) {
    return std::nullopt;
  }
  bool reverse = false;
  while (!lex.skip(')')) {
    if ((!a.criteria.empty() || reverse) && !lex.sp()) {
      return std::nullopt;
    }
    auto w = lex.atom();
    if (!w) {
      return std::nullopt;
    }
    auto n = upper(*w);
    if (n == "REVERSE") {
      if (reverse) {
        lex.fail("REVERSE twice");
        return std::nullopt;
      }
      reverse = true;
      continue;
    }
    sort_criterion c;
    c.reverse = reverse;
    reverse = false;
    using key = sort_criterion::key;
    if (n == "ARRIVAL") c.k = key::arrival;
    else if (n == "CC") c.k = key::cc;
    else if (n == "DATE") c.k = key::date;
    else if (n == "FROM") c.k = key::from;
    else if (n == "SIZE") c.k = key::size;
    else if (n == "SUBJECT") c.k = key::subject;
    else if (n == "TO") c.k = key::to;
    else if (n == "DISPLAYFROM") c.k = key::display_from;
    else if (n == "DISPLAYTO") c.k = key::display_to;
    else {
      lex.fail("Unknown sort criterion " + n);
      return std::nullopt;
    }
    a.criteria.push_back(c);
  }
  if (reverse || a.criteria.empty()) {
    lex.fail("Invalid sort criteria");
    return std::nullopt;
  }
  auto cs = lex.sp() ? lex.astring() : std::nullopt;
  if (!cs || !lex.sp()) {
    return std::nullopt;
  }
  a.charset = upper(*cs);
  auto root = parse_search_keys(lex);
  if (!root) {
    return std::nullopt;
  }
  a.root = std::move(*root);
  return a;
}

std::optional<thread_args> parse_thread(lexer& lex) {
  thread_args a;
  auto alg = lex.atom();
  if (!alg || !lex.sp()) {
    return std::nullopt;
  }
  a.algorithm = upper(*alg);
  auto cs = lex.astring();
  if (!cs || !lex.sp()) {
    return std::nullopt;
  }
  a.charset = upper(*cs);
  auto root = parse_search_keys(lex);
  if (!root) {
    return std::nullopt;
  }
  a.root = std::move(*root);
  return a;
}

}  // namespace homthu::imap::proto
