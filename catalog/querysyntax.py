"""The Solr/Lucene query subset CKAN clients send in `q` and `fq`, parsed into a small tree.

Grammar: expr := and ('OR' and)* ; and := unary (['AND'] unary)* ; unary := ['+'|'-'|'NOT'] atom ;
atom := '(' expr ')' | field ':' value | field ':' '(' values ')' | field ':' ('['|'{') lo 'TO' hi (']'|'}') | term.
Space between clauses means AND (CKAN sends q.op=AND).
"""
import re

from .errors import SearchError, SearchQueryError

_TOKEN = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<range>[\[{][^\]}]*[\]}])|(?P<quoted>"(?:[^"\\]|\\.)*")'
    r'|(?P<word>(?:[^\s()"\[\]{}\\]|\\.)+))'
)


class Node:
    """A parsed query node: ('and'|'or'|'not', children) or ('field', name, values) or ('range'...) or ('term', text)."""

    __slots__ = ("kind", "field", "values", "children", "low", "high", "incl_low", "incl_high")

    def __init__(self, kind, field=None, values=None, children=None):
        self.kind, self.field, self.values, self.children = kind, field, values or [], children or []
        self.low = self.high = None
        self.incl_low = self.incl_high = True

    def __repr__(self):
        if self.kind in ("and", "or", "not"):
            return f"{self.kind}({', '.join(map(repr, self.children))})"
        if self.kind == "range":
            return f"range({self.field}, {self.low}, {self.high})"
        return f"{self.kind}({self.field}:{self.values})"


def _tokens(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SearchError(f"Cannot parse query near: {text[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


def _unquote(s):
    if s.startswith('"') and s.endswith('"') and len(s) >= 2:
        s = s[1:-1]
    return re.sub(r"\\(.)", r"\1", s)


MAX_DEPTH = 20        # nested groups and NOTs
MAX_CLAUSES = 256     # terms, field clauses and ranges in one query (SQL's expression depth has a limit too)
MAX_VALUES = 1024     # values inside one field:(a OR b ...) group (Solr's maxBooleanClauses)
# Lucene's boost (a^2) and proximity/fuzzy (a~2, "a b"~2) operators: not supported, so refused, never
# searched for as text. Escaped (\^ \~) or quoted they are literal.
_OPERATOR = re.compile(r"(?<!\\)[\^~]")


class _Parser:
    def __init__(self, text):
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.clauses = 0

    def _enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SearchQueryError(f"Query nests deeper than {MAX_DEPTH} levels (the limit)")

    def _clause(self, n=1):
        self.clauses += n
        if self.clauses > MAX_CLAUSES:
            raise SearchQueryError(f"Query has more than {MAX_CLAUSES} clauses (the limit)")

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self):
        if not self.toks:
            return Node("and")
        node = self.expr()
        if self.i < len(self.toks):
            raise SearchError(f"Unexpected {self.toks[self.i][1]!r} in query")
        return node

    def expr(self):
        parts = [self.conj()]
        while self.peek() == ("word", "OR") or self.peek() == ("word", "||"):
            self.take()
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else Node("or", children=parts)

    def conj(self):
        parts = [self.unary()]
        while True:
            kind, val = self.peek()
            if kind is None or kind == "rp" or val in ("OR", "||"):
                break
            if val in ("AND", "&&"):
                self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Node("and", children=parts)

    def unary(self):
        kind, val = self.peek()
        if kind == "word" and val == "NOT":
            self.take()
            self._enter()
            node = Node("not", children=[self.unary()])
            self.depth -= 1
            return node
        if kind == "word" and val[0] in "+-" and len(val) > 1:
            self.toks[self.i] = ("word", val[1:])
            return Node("not", children=[self.atom()]) if val[0] == "-" else self.atom()
        if kind == "word" and val in ("+", "-"):
            self.take()
            inner = self.atom()
            return Node("not", children=[inner]) if val == "-" else inner
        return self.atom()

    def atom(self):
        kind, val = self.take()
        if kind == "lp":
            self._enter()
            node = self.expr()
            if self.take()[0] != "rp":
                raise SearchError("Missing ')' in query")
            self.depth -= 1
            return node
        self._clause()
        if kind == "quoted":
            nkind, nval = self.peek()
            if nkind == "word" and _OPERATOR.match(nval):
                raise SearchError('Proximity search ("a b"~2) is not supported; leave out the ~')
            return Node("term", values=[_unquote(val)])
        if kind != "word":
            raise SearchError(f"Unexpected {val!r} in query")
        if _OPERATOR.search(val):
            raise SearchError("Boosts (^) and fuzzy or proximity search (~) are not supported; "
                              "quote the text or escape the character to search for it")
        m = re.match(r"^([A-Za-z_][\w.\-]*|\*):(.*)$", val, re.S)
        if not m:
            return Node("term", values=[_unquote(val)])
        field, rest = m.group(1), m.group(2)
        if rest:
            return Node("field", field, [_unquote(rest)])
        nkind, nval = self.peek()
        if nkind == "quoted":
            self.take()
            after = self.peek()
            if after[0] == "word" and _OPERATOR.match(after[1]):
                raise SearchError('Proximity search ("a b"~2) is not supported; leave out the ~')
            return Node("field", field, [_unquote(nval)])
        if nkind == "range":
            self.take()
            return _range(field, nval)
        if nkind == "lp":
            self.take()
            values = []
            while self.peek()[0] not in ("rp", None):
                k, v = self.take()
                if v in ("OR", "||"):
                    continue
                if v in ("AND", "&&"):
                    raise SearchError("Only OR is supported inside field:(...) groups")
                values.append(_unquote(v))
                if len(values) > MAX_VALUES:
                    raise SearchQueryError(f"A field group has more than {MAX_VALUES} values (the limit)")
            if self.take()[0] != "rp":
                raise SearchError("Missing ')' in query")
            return Node("field", field, values)
        raise SearchError(f"Missing value for field {field!r}")


def _range(field, text):
    m = re.match(r"^([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])$", text)
    if not m:
        raise SearchError(f"Invalid range {text!r}")
    node = Node("range", field)
    node.incl_low, node.incl_high = m.group(1) == "[", m.group(4) == "]"
    node.low = None if m.group(2) == "*" else _unquote(m.group(2))
    node.high = None if m.group(3) == "*" else _unquote(m.group(3))
    return node


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse(text):
    """Parse q/fq text into a Node tree (SearchError on syntax CKAN's Solr would reject)."""
    if text is None:
        return Node("and")
    if not isinstance(text, str):
        raise SearchError("Query must be a string")
    if "{!" in text:
        raise SearchError("Local parameters are not supported")
    # Control characters mean nothing in a query, and a NUL ends an FTS5 string early.
    text = _CONTROL.sub(" ", text)
    return _Parser(text).parse()
