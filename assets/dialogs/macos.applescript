-- SyncTray's dialogs on macOS (osascript macos.applescript OP TITLE ...), as linux.sh:
--   folder TITLE START | choose TITLE TEXT VALUE DESCRIPTION... | confirm TITLE TEXT OK-LABEL | message TITLE TEXT
--   entry TITLE TEXT INITIAL | pick TITLE TEXT NUMBER ROW... (several rows may be chosen; prints their
--   numbers, |-separated)
-- Only the Linux script is run by the tests (on Xvfb); this one follows it and is untested here.
-- Prints the answer; a cancel ends with error -128, which osascript reports with exit code 1.
on run argv
	set op to item 1 of argv
	set theTitle to item 2 of argv
	if op is "folder" then
		set chosen to choose folder with prompt theTitle default location (POSIX file (item 3 of argv))
		return POSIX path of chosen
	else if op is "choose" then
		set labels to {}
		repeat with i from 4 to (count of argv) by 2
			set end of labels to (item i of argv) & ": " & (item (i + 1) of argv)
		end repeat
		set picked to choose from list labels with title theTitle with prompt (item 3 of argv)
		if picked is false then error number -128
		set text item delimiters to ":"
		return text item 1 of (item 1 of picked)
	else if op is "confirm" then
		display dialog (item 3 of argv) with title theTitle buttons {"Cancel", item 4 of argv} default button 2 cancel button 1
		return "yes"
	else if op is "message" then
		display dialog (item 3 of argv) with title theTitle buttons {"OK"} default button 1
		return ""
	else if op is "entry" then
		set answer to display dialog (item 3 of argv) with title theTitle default answer (item 4 of argv)
		return text returned of answer
	else if op is "pick" then
		-- Shown as "NUMBER: ROW"; the number before the first colon is what comes back.
		set labels to {}
		repeat with i from 4 to (count of argv) by 2
			set end of labels to (item i of argv) & ": " & (item (i + 1) of argv)
		end repeat
		set picked to choose from list labels with title theTitle with prompt (item 3 of argv) with multiple selections allowed
		if picked is false then error number -128
		set numbers to {}
		set text item delimiters to ":"
		repeat with one in picked
			set end of numbers to text item 1 of one
		end repeat
		set text item delimiters to "|"
		return numbers as text
	end if
end run
