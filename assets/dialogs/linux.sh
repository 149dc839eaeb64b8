#!/bin/sh
# SyncTray's dialogs on Linux, with zenity, else kdialog, else yad. Started with an argument
# vector (never through a shell string), one dialog per run:
#   linux.sh folder TITLE START-FOLDER
#   linux.sh choose TITLE TEXT VALUE DESCRIPTION [VALUE DESCRIPTION]...
#   linux.sh confirm TITLE TEXT OK-LABEL
#   linux.sh message TITLE TEXT
#   linux.sh entry TITLE TEXT INITIAL
#   linux.sh pick TITLE TEXT NUMBER ROW [NUMBER ROW]...   (several rows may be chosen)
# Exit 0 with the answer on stdout (for pick, the chosen rows' numbers, separated by |), 1 when
# cancelled, 3 when no dialog tool is installed.
op=$1
title=$2
shift 2

if command -v zenity >/dev/null 2>&1; then tool=zenity
elif command -v kdialog >/dev/null 2>&1; then tool=kdialog
elif command -v yad >/dev/null 2>&1; then tool=yad
else
  echo "No dialog tool is installed: install zenity (Debian, Ubuntu: apt install zenity; Fedora: dnf install zenity)" >&2
  exit 3
fi

# A list tall enough for its text above it (a list of held deletions runs to a dozen lines).
height() { echo $((240 + 20 * $(printf '%s\n' "$1" | wc -l))); }

# zenity's lists and yad read their text as Pango markup: a name with & or < must stay text.
esc() { printf %s "$1" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'; }

case "$tool:$op" in
  zenity:folder) exec zenity --file-selection --directory --title="$title" --filename="$1/" ;;
  kdialog:folder) exec kdialog --title "$title" --getexistingdirectory "$1" ;;
  yad:folder) exec yad --file --directory --title="$title" --filename="$1/" --width=900 --height=600 ;;
  zenity:choose)
    text=$1; shift
    exec zenity --list --title="$title" --text="$(esc "$text")" --column=Choice --column=Meaning --width=760 --height="$(height "$text")" "$@" ;;
  kdialog:choose)
    text=$1; shift
    first=on
    # kdialog wants tag, item, on/off triples: rebuild the list in place.
    n=$#
    i=0
    while [ $i -lt $n ]; do
      v=$1; d=$2; shift 2; i=$((i + 2))
      set -- "$@" "$v" "$v: $d" "$first"
      first=off
    done
    exec kdialog --title "$title" --radiolist "$text" "$@" ;;
  yad:choose)
    text=$1; shift
    exec yad --list --title="$title" --text="$(esc "$text")" --column=Choice --column=Meaning --print-column=1 --separator= --width=760 --height="$(height "$text")" "$@" ;;
  zenity:confirm) exec zenity --question --no-markup --title="$title" --text="$1" --ok-label="$2" --cancel-label=Cancel --width=480 ;;
  kdialog:confirm) exec kdialog --title "$title" --yes-label "$2" --no-label Cancel --yesno "$1" ;;
  yad:confirm) exec yad --title="$title" --text="$(esc "$1")" --button="Cancel:1" --button="$2:0" --width=480 ;;
  zenity:message) exec zenity --info --no-markup --title="$title" --text="$1" --width=480 ;;
  kdialog:message) exec kdialog --title "$title" --msgbox "$1" ;;
  yad:message) exec yad --title="$title" --text="$(esc "$1")" --button=OK:0 --width=480 ;;
  zenity:entry) exec zenity --entry --title="$title" --text="$(esc "$1")" --entry-text="$2" --width=560 ;;
  kdialog:entry) exec kdialog --title "$title" --inputbox "$1" "$2" ;;
  yad:entry) exec yad --entry --title="$title" --text="$(esc "$1")" --entry-text="$2" --width=560 ;;
  # The number column is hidden: the rows are what the user reads, the numbers what comes back.
  zenity:pick)
    text=$1; shift
    exec zenity --list --multiple --title="$title" --text="$(esc "$text")" --column=No --column=File --hide-column=1 --print-column=1 --separator='|' --width=900 --height=560 "$@" ;;
  kdialog:pick)
    text=$1; shift
    # kdialog wants tag, item, on/off triples: rebuild the list in place.
    n=$#
    i=0
    while [ $i -lt $n ]; do
      v=$1; d=$2; shift 2; i=$((i + 2))
      set -- "$@" "$v" "$d" off
    done
    kdialog --title "$title" --separate-output --checklist "$text" "$@" ;;
  yad:pick)
    text=$1; shift
    exec yad --list --multiple --title="$title" --text="$(esc "$text")" --column=No --column=File --hide-column=1 --print-column=1 --separator= --width=900 --height=560 "$@" ;;
  *) echo "unknown dialog: $op" >&2; exit 2 ;;
esac
