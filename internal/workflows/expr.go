package workflows

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Expressions: the subset of GitHub's expression language the workflows
// use (literals, context properties, indexing, ! && || == != < <= > >=,
// and the functions below), evaluated strictly: a property that does not
// exist is an error rather than GitHub's empty string, so that a misspelled
// variable or an output a step never wrote fails the rehearsal.

// Context is what expressions can read: the roots github, env, vars,
// secrets, steps, needs, matrix, runner, job, strategy, inputs.
type Context struct {
	Values map[string]any
	// Failed answers success() and failure(): whether an earlier
	// step (or, for a job's if, a needed job) failed.
	Failed bool
}

// ErrMissing marks a property that does not exist.
var ErrMissing = errors.New("does not exist")

// Evaluate evaluates one expression (without ${{ }}).
func (c *Context) Evaluate(src string) (any, error) {
	p := &exprParser{src: src, ctx: c}
	p.next()
	v, err := p.or(true)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	if p.tok.kind != tokEOF {
		return nil, fmt.Errorf("expression %q: unexpected %q", src, p.tok.text)
	}
	return v, nil
}

// Condition evaluates an if: value: with or without ${{ }}, empty means
// success(); a condition that names no status function is combined with
// success(), as GitHub does.
func (c *Context) Condition(src string) (bool, error) {
	src = strings.TrimSpace(src)
	if strings.HasPrefix(src, "${{") && strings.HasSuffix(src, "}}") {
		src = strings.TrimSpace(src[3 : len(src)-2])
	}
	if src == "" {
		return !c.Failed, nil
	}
	v, err := c.Evaluate(src)
	if err != nil {
		return false, err
	}
	if !statusFunc.MatchString(src) && c.Failed {
		return false, nil
	}
	return truthy(v), nil
}

var statusFunc = regexp.MustCompile(`\b(always|success|failure|cancelled)\(`) //nolint:misspell // GitHub spells the function cancelled()

// Interpolate replaces every ${{ expr }} of s with its value.
func (c *Context) Interpolate(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return "", fmt.Errorf("unterminated ${{ in %q", s)
		}
		v, err := c.Evaluate(strings.TrimSpace(s[i+3 : i+j]))
		if err != nil {
			return "", err
		}
		b.WriteString(s[:i])
		b.WriteString(toString(v))
		s = s[i+j+2:]
	}
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	default:
		return true
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func toNumber(v any) float64 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		return x
	case string:
		if strings.TrimSpace(x) == "" {
			return 0
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	default:
		return math.NaN()
	}
}

// equal compares as GitHub does: strings case-insensitively, values of
// different types as numbers.
func equal(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return strings.EqualFold(as, bs)
	}
	if a == nil && b == nil {
		return true
	}
	return toNumber(a) == toNumber(b)
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp
)

type token struct {
	kind tokKind
	text string
}

type exprParser struct {
	src string
	pos int
	tok token
	ctx *Context
}

var exprOps = []string{"&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "(", ")", "[", "]", ".", ","}

func (p *exprParser) next() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
	if p.pos >= len(p.src) {
		p.tok = token{kind: tokEOF}
		return
	}
	rest := p.src[p.pos:]
	switch c := rest[0]; {
	case c == '\'':
		var b strings.Builder
		i := 1
		for i < len(rest) {
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				break
			}
			b.WriteByte(rest[i])
			i++
		}
		p.pos += i + 1
		p.tok = token{kind: tokString, text: b.String()}
		return
	case c >= '0' && c <= '9' || c == '-' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9':
		i := 1
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		p.pos += i
		p.tok = token{kind: tokNumber, text: rest[:i]}
		return
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		i := 1
		for i < len(rest) && (rest[i] == '_' || rest[i] == '-' || rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= 'A' && rest[i] <= 'Z' || rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		p.pos += i
		p.tok = token{kind: tokIdent, text: rest[:i]}
		return
	}
	for _, op := range exprOps {
		if strings.HasPrefix(rest, op) {
			p.pos += len(op)
			p.tok = token{kind: tokOp, text: op}
			return
		}
	}
	p.tok = token{kind: tokOp, text: rest[:1]}
	p.pos++
}

func (p *exprParser) isOp(op string) bool { return p.tok.kind == tokOp && p.tok.text == op }

// Each level takes eval: false while parsing a branch that short-circuit
// evaluation skips (its properties are not looked up).
func (p *exprParser) or(eval bool) (any, error) {
	v, err := p.and(eval)
	if err != nil {
		return nil, err
	}
	for p.isOp("||") {
		p.next()
		r, err := p.and(eval && !truthy(v))
		if err != nil {
			return nil, err
		}
		if !truthy(v) {
			v = r
		}
	}
	return v, nil
}

func (p *exprParser) and(eval bool) (any, error) {
	v, err := p.compare(eval)
	if err != nil {
		return nil, err
	}
	for p.isOp("&&") {
		p.next()
		r, err := p.compare(eval && truthy(v))
		if err != nil {
			return nil, err
		}
		if truthy(v) {
			v = r
		}
	}
	return v, nil
}

func (p *exprParser) compare(eval bool) (any, error) {
	v, err := p.unary(eval)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokOp {
		op := p.tok.text
		if op != "==" && op != "!=" && op != "<" && op != "<=" && op != ">" && op != ">=" {
			break
		}
		p.next()
		r, err := p.unary(eval)
		if err != nil {
			return nil, err
		}
		switch op {
		case "==":
			v = equal(v, r)
		case "!=":
			v = !equal(v, r)
		case "<":
			v = toNumber(v) < toNumber(r)
		case "<=":
			v = toNumber(v) <= toNumber(r)
		case ">":
			v = toNumber(v) > toNumber(r)
		case ">=":
			v = toNumber(v) >= toNumber(r)
		}
	}
	return v, nil
}

func (p *exprParser) unary(eval bool) (any, error) {
	if p.isOp("!") {
		p.next()
		v, err := p.unary(eval)
		if err != nil {
			return nil, err
		}
		return !truthy(v), nil
	}
	return p.postfix(eval)
}

func (p *exprParser) postfix(eval bool) (any, error) {
	v, path, err := p.primary(eval)
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			if p.tok.kind != tokIdent {
				return nil, fmt.Errorf("want a property name after %s", path)
			}
			name := p.tok.text
			p.next()
			path += "." + name
			if eval {
				if v, err = property(v, name, path); err != nil {
					return nil, err
				}
			}
		case p.isOp("["):
			p.next()
			idx, err := p.or(eval)
			if err != nil {
				return nil, err
			}
			if !p.isOp("]") {
				return nil, fmt.Errorf("want ] after the index of %s", path)
			}
			p.next()
			name := toString(idx)
			path += "[" + name + "]"
			if eval {
				if v, err = property(v, name, path); err != nil {
					return nil, err
				}
			}
		default:
			return v, nil
		}
	}
}

func property(v any, name, path string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: %w (not an object)", path, ErrMissing)
	}
	for k, x := range m {
		if strings.EqualFold(k, name) {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", path, ErrMissing)
}

func (p *exprParser) primary(eval bool) (any, string, error) {
	t := p.tok
	switch t.kind {
	case tokString:
		p.next()
		return t.text, "'" + t.text + "'", nil
	case tokNumber:
		p.next()
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, "", fmt.Errorf("bad number %q", t.text)
		}
		return f, t.text, nil
	case tokIdent:
		p.next()
		switch t.text {
		case "true":
			return true, t.text, nil
		case "false":
			return false, t.text, nil
		case "null":
			return nil, t.text, nil
		}
		if p.isOp("(") {
			v, err := p.call(t.text, eval)
			return v, t.text + "()", err
		}
		if !eval {
			return nil, t.text, nil
		}
		v, ok := p.ctx.Values[t.text]
		if !ok {
			return nil, "", fmt.Errorf("context %s: %w", t.text, ErrMissing)
		}
		return v, t.text, nil
	case tokOp:
		if t.text == "(" {
			p.next()
			v, err := p.or(eval)
			if err != nil {
				return nil, "", err
			}
			if !p.isOp(")") {
				return nil, "", errors.New("want )")
			}
			p.next()
			return v, "(…)", nil
		}
	}
	return nil, "", fmt.Errorf("unexpected %q", t.text)
}

func (p *exprParser) call(name string, eval bool) (any, error) {
	p.next() // (
	var args []any
	for !p.isOp(")") {
		v, err := p.or(eval)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
		if p.isOp(",") {
			p.next()
			continue
		}
		if !p.isOp(")") {
			return nil, fmt.Errorf("want , or ) in %s()", name)
		}
	}
	p.next()                                                                                                                       // )
	want := map[string]int{"always": 0, "success": 0, "failure": 0, "cancelled": 0, "startsWith": 2, "endsWith": 2, "contains": 2} //nolint:misspell // GitHub's spelling
	if n, ok := want[name]; ok && len(args) != n {
		return nil, fmt.Errorf("%s() takes %d arguments, got %d", name, n, len(args))
	}
	switch name {
	case "always":
		return true, nil
	case "success":
		return !p.ctx.Failed, nil
	case "failure":
		return p.ctx.Failed, nil
	case "cancelled": //nolint:misspell // GitHub's spelling
		return false, nil
	case "startsWith":
		return strings.HasPrefix(strings.ToLower(toString(args[0])), strings.ToLower(toString(args[1]))), nil
	case "endsWith":
		return strings.HasSuffix(strings.ToLower(toString(args[0])), strings.ToLower(toString(args[1]))), nil
	case "contains":
		if list, ok := args[0].([]any); ok {
			for _, x := range list {
				if equal(x, args[1]) {
					return true, nil
				}
			}
			return false, nil
		}
		return strings.Contains(strings.ToLower(toString(args[0])), strings.ToLower(toString(args[1]))), nil
	case "format":
		if len(args) == 0 {
			return nil, errors.New("format() needs a format string")
		}
		s := toString(args[0])
		for i, a := range args[1:] {
			s = strings.ReplaceAll(s, "{"+strconv.Itoa(i)+"}", toString(a))
		}
		if regexp.MustCompile(`\{[0-9]+\}`).MatchString(s) {
			return nil, fmt.Errorf("format(%q): a placeholder has no argument", toString(args[0]))
		}
		return s, nil
	}
	return nil, fmt.Errorf("function %s() is not supported by this evaluator", name)
}
