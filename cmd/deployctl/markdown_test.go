package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// inlineCode matches a Markdown code span.
var inlineCode = regexp.MustCompile("`[^`\n]+`")

// markdownCode returns the code of a Markdown document: each line of a
// fenced block (a line ending in \ joined with the next) and each code
// span, with the number of the line it starts on.
func markdownCode(text string) (snippets []string, lines []int) {
	inFence := false
	pending, pendingLine := "", 0
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if !inFence {
			for _, span := range inlineCode.FindAllString(line, -1) {
				snippets, lines = append(snippets, strings.Trim(span, "`")), append(lines, i+1)
			}
			continue
		}
		if pending == "" {
			pendingLine = i + 1
		}
		if cont, ok := strings.CutSuffix(strings.TrimRight(line, " "), "\\"); ok {
			pending += cont + " "
			continue
		}
		snippets, lines = append(snippets, pending+line), append(lines, pendingLine)
		pending = ""
	}
	return snippets, lines
}

// shellEnd are the tokens that end a command line.
var shellEnd = map[string]bool{"|": true, "||": true, "&&": true, ";": true, ">": true, ">>": true, "2>": true, "2>&1": true}

// checkMarkdownCommands returns a problem for every "deployctl <command>
// ... --flag" in the code of a Markdown document whose command or flags do
// not exist in root's tree.
func checkMarkdownCommands(root *cobra.Command, text string) []string {
	var problems []string
	snippets, lines := markdownCode(text)
	for n, code := range snippets {
		tokens := strings.Fields(code)
		for i, tok := range tokens {
			if tok != programName && !strings.HasSuffix(tok, "/"+programName) {
				continue
			}
			cmd := root
			j := i + 1
			for ; j < len(tokens); j++ {
				word := tokens[j]
				if shellEnd[word] || strings.HasPrefix(word, "#") || strings.HasPrefix(word, "-") {
					break
				}
				if strings.HasPrefix(word, "<") { // a placeholder such as <command>
					cmd = nil
					break
				}
				sub, _, err := cmd.Find([]string{word})
				if err != nil || sub == cmd {
					if cmd == root {
						problems = append(problems, fmt.Sprintf("line %d: %q: no command %q", lines[n], code, word))
						cmd = nil
					}
					break
				}
				cmd = sub
			}
			if cmd == nil {
				continue
			}
			for ; j < len(tokens); j++ {
				word := tokens[j]
				if shellEnd[word] || strings.HasPrefix(word, "#") || strings.HasSuffix(word, programName) {
					break
				}
				word = strings.Trim(word, "[](){},|")
				name, ok := strings.CutPrefix(word, "--")
				if !ok || name == "" {
					continue
				}
				name, _, _ = strings.Cut(name, "=")
				if name == "help" {
					continue
				}
				if cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil {
					problems = append(problems, fmt.Sprintf("line %d: %q: %s has no flag --%s", lines[n], code, cmd.CommandPath(), name))
				}
			}
		}
	}
	return problems
}

// TestMarkdownQuotesOnlyRealFlags checks every deployctl command line that
// README.md and docs/*.md quote against the command tree: new commands and
// flags are covered as soon as they are added to newCmdRoot.
func TestMarkdownQuotesOnlyRealFlags(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(repoRoot, "README.md"))
	root := newCmdRoot(newTestCLI(t).F)
	quoted := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		snippets, _ := markdownCode(string(data))
		for _, s := range snippets {
			quoted += strings.Count(s, programName+" ")
		}
		for _, p := range checkMarkdownCommands(root, string(data)) {
			t.Errorf("%s %s", filepath.Base(file), p)
		}
	}
	if quoted == 0 {
		t.Fatal("found no deployctl command line in README.md and docs/*.md")
	}
}

func TestCheckMarkdownCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		md   string
		want int
	}{
		{"accepts a real command line", "Run `deployctl preview --stack dev --offline [--json]`.", 0},
		{"accepts a fenced, continued command line", "```sh\ngo run ./cmd/deployctl smoke --api-url https://x \\\n  --expect-sha abc1234 | tee out\n```\n", 0},
		{"accepts a flag with its value after =", "`deployctl migrate --deadline=10m`", 0},
		{"accepts a placeholder command", "`deployctl <command> --help`", 0},
		{"ignores prose outside code", "deployctl previews --nothing here", 0},
		{"ignores the command's source directory", "```\ncmd/deployctl/   the CLI\n```\n", 0},
		{"refuses a made-up flag", "`deployctl preview --stack dev --no-such-flag`", 1},
		{"refuses a flag of another command", "```\ndeployctl whoami --stack dev\n```\n", 1},
		{"refuses a flag on a continued line", "```sh\ndeployctl smoke --api-url https://x \\\n  --made-up 1\n```\n", 1},
		{"refuses a made-up command", "`deployctl deploy --stack dev`", 1},
		{"refuses the publish flag that was renamed", "`deployctl publish-frontend --project-dir .`", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := newCmdRoot(newTestCLI(t).F)
			if got := checkMarkdownCommands(root, tt.md); len(got) != tt.want {
				t.Errorf("problems = %q, want %d", got, tt.want)
			}
		})
	}
}
