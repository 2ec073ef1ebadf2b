#!/bin/sh
# repl.sh — `vmsctl repl` through a real pseudo-terminal (tmux): a call in
# NodeVMS's form, Tab completing a method name, history (Up), errors that
# leave the prompt usable, Ctrl-D; then --exec and lines from a pipe.
. "$TOP/tests/integration/lib/daemon.sh"

VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
if ! start_vmsd; then
	fail start "vmsd did not start"
	exit 1
fi
"$VMSCTL" -s "$T/s.sock" deploy "$TOP/examples/guestlist.lua" >/dev/null

if ! command -v tmux >/dev/null 2>&1; then
	skip repl_pty "tmux is not installed (make deps installs it)"
else
	SESS=vmsrepl$$
	TMUX_TMPDIR=$T; export TMUX_TMPDIR
	# a private history file, and no ~/.editrc of the user's
	tmux new-session -d -s "$SESS" -x 150 -y 40 \
	    "env XDG_STATE_HOME=$T/xdg HOME=$T $VMSCTL -s $T/s.sock repl guestlist"
	screen() { tmux capture-pane -t "$SESS" -p -S -50; }
	waitfor() {	# waitfor REGEX: until the screen shows it (5 s)
		i=0
		while [ $i -lt 50 ]; do
			screen | grep -q -- "$1" && return 0
			sleep 0.1; i=$((i + 1))
		done
		return 1
	}
	waitfor 'guestlist>' || fail repl_prompt "no prompt: $(screen | head -3)"
	tmux send-keys -t "$SESS" 'RSVP("bob", false, "Washing my hair, sorry!")' Enter
	waitfor '^null$' && pass repl_call_json_args ||
	    fail repl_call_json_args "$(screen | tail -5)"
	tmux send-keys -t "$SESS" 'list' Tab
	waitfor 'guestlist> listRSVPs' && pass repl_tab_completes ||
	    fail repl_tab_completes "$(screen | tail -3)"
	tmux send-keys -t "$SESS" Enter
	waitfor '"name":"bob"' && pass repl_completed_call ||
	    fail repl_completed_call "$(screen | tail -3)"
	tmux send-keys -t "$SESS" 'RSVP(1,' Enter
	waitfor "missing ')'" && pass repl_error_keeps_prompt ||
	    fail repl_error_keeps_prompt "$(screen | tail -3)"
	# Up Up Up: back to the first line, edited (Home, then a new name)
	tmux send-keys -t "$SESS" Up Up Up C-a
	tmux send-keys -t "$SESS" -l 'client.'
	tmux send-keys -t "$SESS" Enter
	waitfor 'guestlist> client.RSVP("bob"' && pass repl_history_edit ||
	    fail repl_history_edit "$(screen | tail -4)"
	tmux send-keys -t "$SESS" C-d
	i=0
	while tmux has-session -t "$SESS" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	if tmux has-session -t "$SESS" 2>/dev/null; then
		fail repl_ctrl_d "still running"
		tmux kill-session -t "$SESS"
	else
		pass repl_ctrl_d
	fi
	[ -s "$T/xdg/vmsctl/history" ] && pass repl_history_saved ||
	    fail repl_history_saved "no $T/xdg/vmsctl/history"
	n=$($RPC -s "$T/s.sock" call log '{"contract":"guestlist","count":100}' |
	    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["entries"]))')
	check repl_calls_in_ledger "ledger has $n entries" [ "$n" = 4 ]
fi

out=$("$VMSCTL" -s "$T/s.sock" repl guestlist --exec 'client.listRSVPs()' 2>&1)
check repl_exec "got $out" sh -c "echo '$out' | grep -q '\"name\":\"bob\"'"
"$VMSCTL" -s "$T/s.sock" repl guestlist --exec 'nope()' >/dev/null 2>&1
check repl_exec_error_status "exit $?" [ $? = 1 ]
out=$(printf 'RSVP carol true "yes"\nlistRSVPs\n' | "$VMSCTL" -s "$T/s.sock" repl guestlist 2>&1)
check repl_pipe "got $out" sh -c "echo '$out' | grep -q '\"name\":\"carol\"'"
"$VMSCTL" -s "$T/s.sock" repl nosuch </dev/null >/dev/null 2>&1
check repl_no_such_contract "exit $?" [ $? = 1 ]
stop_vmsd
