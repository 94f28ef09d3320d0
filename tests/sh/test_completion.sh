#!/bin/sh
# test_completion.sh - the bash completion loads in a plain bash and
# completes what a user types: a subcommand, an option of that
# subcommand, a file after -c; and it knows every subcommand main.c has.
cd "$(dirname "$0")/../.." || exit 1
fail=0
pass() { echo "PASS $1"; }
failed() { echo "FAIL $1: $2"; fail=1; }
comp=dist/pvebot.bash-completion

if ! command -v bash >/dev/null 2>&1; then
	failed completion "bash not found"
	exit 1
fi
# Completes the words given; prints COMPREPLY, one per line.
complete_words() {
	bash --norc --noprofile -c '
		. "$1" || exit 9
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		f=$(complete -p pvebot | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
		[ -n "$f" ] || exit 8
		"$f" pvebot "${COMP_WORDS[COMP_CWORD]}" \
		    "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' sh "$comp" "$@"
}

got=$(complete_words pvebot ch)
[ "$got" = "check" ] && pass completes_subcommand ||
	failed completes_subcommand "pvebot ch<TAB> gave '$got'"

got=$(complete_words pvebot audit --v)
[ "$got" = "--verify" ] && pass completes_option ||
	failed completes_option "pvebot audit --v<TAB> gave '$got'"

got=$(complete_words pvebot check -c bot.conf.exa)
[ "$got" = "bot.conf.example" ] && pass completes_config_file ||
	failed completes_config_file "pvebot check -c bot.conf.exa<TAB> gave '$got'"

all=$(complete_words pvebot '')
missing=""
for sub in $(sed -n 's/^[[:space:]]*{ "\([a-z]*\)", [a-z_]* },$/\1/p' \
    src/main.c) version; do
	echo "$all" | grep -qx "$sub" || missing="$missing $sub"
done
[ -z "$missing" ] && pass knows_every_subcommand ||
	failed knows_every_subcommand "not completed:$missing"
exit $fail
