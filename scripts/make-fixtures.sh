#!/usr/bin/env bash
# Regenerates the speech fixtures in fixtures/caller/ and fixtures/bot/ with espeak-ng and sox.
#
#   scripts/make-fixtures.sh           write the fixtures into fixtures/
#   scripts/make-fixtures.sh --check   build twice into temp dirs; fail unless both builds and the
#                                      committed files have identical sha256 sums
#
# Output is byte-for-byte reproducible for the same tool versions (pinned below in the README):
# voices, speeds, pitch, amplitude and word gap are fixed; sox runs with -D (no dither, which would
# add random noise) and -R (repeatable); sox writes no comment/LIST chunk and espeak-ng no timestamp.
# Needs: espeak-ng, sox (Debian: apt-get install -y espeak-ng sox).
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RATE=8000
SOX=(sox -D -R -V1)

# Caller and bot use different voices so a test (or a human listening) can tell them apart.
CALLER_VOICE=(-v en-us -s 150 -p 45 -a 120 -g 3)
BOT_VOICE=(-v en-us+f3 -s 165 -p 55 -a 120 -g 2)

# Trims leading/trailing silence so cue start/end times mark speech, then resamples to 8 kHz
# 16-bit mono (the intermediate every output is encoded from).
speak() { # speak <outfile.s16.wav> <voice-array-name> <text>
  local out="$1" voice="$2[@]" text="$3" tmp
  tmp="$(mktemp --suffix=.wav)"
  espeak-ng "${!voice}" -w "$tmp" "$text"
  "${SOX[@]}" "$tmp" -r "$RATE" -c 1 -b 16 -e signed-integer "$out" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
  rm -f "$tmp"
}

silence() { # silence <outfile.s16.wav> <samples>
  "${SOX[@]}" -r "$RATE" -c 1 -n -r "$RATE" -c 1 -b 16 -e signed-integer "$1" trim 0 "${2}s"
}

# Samples of silence that leave room for the named bot replies: their length plus 1.5 s (the
# model's end-of-speech detection and response latency), rounded up to 100 ms. Sized from the bot
# fixtures so that a scripted reply ends before the caller speaks again (no accidental barge-in).
gap_for() { # gap_for <bot names...>
  local total=0 b
  for b in "$@"; do total=$((total + $(stat -c %s "$BOT_OUT/$b.ulaw"))); done
  local step=$((RATE / 10))
  echo $(( (total + RATE * 3 / 2 + step - 1) / step * step ))
}

samples() { soxi -s "$1"; }

to_ulaw_wav() { "${SOX[@]}" "$1" -r "$RATE" -c 1 -e u-law "$2"; }
to_ulaw_raw() { "${SOX[@]}" "$1" -t raw -r "$RATE" -c 1 -e u-law "$2"; }

sec() { awk -v n="$1" -v r="$RATE" 'BEGIN { printf "%.3f", n / r }'; }

declare -A CALLER_TEXT=(
  [hello]="Hi, I'd like to check the status of my order."
  [order-number]="It's order number one two three four."
  [interrupt]="Sorry, wait. Actually I need to talk about billing."
  [manager]="This is useless. I want to speak to a manager."
  [goodbye]="No, that's all. Thank you, goodbye."
)
CALLER_ORDER=(hello order-number interrupt manager goodbye)

declare -A BOT_TEXT=(
  [greeting]="Hello, thanks for calling Acme. How can I help you today?"
  [ask-order]="Sure, I can help with that. What is your order number?"
  [order-status]="Thanks. Order one two three four shipped yesterday and should arrive on Thursday. You will receive a text message with the tracking link, and you can reply to it at any time if you need to change the delivery address."
  [anything-else]="Is there anything else I can help you with?"
  [farewell]="Thank you for calling Acme. Goodbye!"
  [transfer]="I understand. Let me connect you with a colleague who can help."
  [billing]="Of course. Let me look at your billing question."
)
BOT_ORDER=(greeting ask-order order-status anything-else farewell transfer billing)

# compose <outdir> <name> <description> <work> <spec...>; spec items:
#   say:<utterance>            caller speech (fixtures/caller/<utterance>)
#   sil:<seconds>              fixed silence
#   gap:<bot>[,<bot>...]       silence sized by gap_for; the cue of the preceding utterance (or
#                              "botGreeting" before the first one) names the bot replies
#   barge:<bot>:<seconds>      fixed silence too short for <bot>, the reply to the preceding
#                              utterance: the next utterance is a barge-in ("interruptsBotReply")
# Writes <name>.wav, <name>.ulaw and <name>.cues.json (times in seconds and samples).
compose() {
  local outdir="$1" name="$2" description="$3" work="$4"; shift 4
  local parts=() pos=0 n idx=0 item part u utts=() lead_for="" dtmf_json=""
  local -A reply_for=() interrupts=()
  for item in "$@"; do
    idx=$((idx + 1))
    case "$item" in
      sil:*)
        part="$work/$name.$idx.sil.wav"
        silence "$part" "$(awk -v s="${item#sil:}" -v r="$RATE" 'BEGIN { printf "%d", s * r }')" ;;
      gap:*)
        local bots="${item#gap:}"
        part="$work/$name.$idx.sil.wav"
        # shellcheck disable=SC2086
        silence "$part" "$(gap_for ${bots//,/ })"
        if ((${#utts[@]})); then reply_for[${#utts[@]}]="$bots"; else lead_for="$bots"; fi ;;
      barge:*)
        local spec="${item#barge:}"
        part="$work/$name.$idx.sil.wav"
        silence "$part" "$(awk -v s="${spec#*:}" -v r="$RATE" 'BEGIN { printf "%d", s * r }')"
        reply_for[${#utts[@]}]="${spec%%:*}"
        interrupts[$((${#utts[@]} + 1))]="${spec%%:*}" ;;
      say:*)
        u="${item#say:}"
        part="$work/caller.$u.wav"
        n="$(samples "$part")"
        utts+=("$u $pos $((pos + n))")
        if [[ "$u" == "order-number" && "$name" == "multi-turn-call" ]]; then
          # Keypad alternative to the spoken number, 0.5 s after it: a DTMF test sends it instead of
          # (or as well as) the speech.
          dtmf_json=$'\n    '"{\"digits\": \"1234#\", \"atSec\": $(sec $((pos + n + RATE / 2)))}"
        fi ;;
      *) echo "bad compose item: $item" >&2; exit 2 ;;
    esac
    parts+=("$part")
    pos=$((pos + $(samples "$part")))
  done
  "${SOX[@]}" "${parts[@]}" "$work/$name.wav"
  to_ulaw_wav "$work/$name.wav" "$outdir/caller/$name.wav"
  to_ulaw_raw "$work/$name.wav" "$outdir/caller/$name.ulaw"

  local utt_json="" i=0 id start end replies interrupted
  for item in "${utts[@]}"; do
    i=$((i + 1))
    read -r id start end <<<"$item"
    replies="${reply_for[$i]:-}"
    interrupted="null"; [[ -n "${interrupts[$i]:-}" ]] && interrupted="\"${interrupts[$i]}\""
    [[ -n "$utt_json" ]] && utt_json+=","
    utt_json+=$'\n    '"{\"id\": \"$id\", \"text\": \"${CALLER_TEXT[$id]}\", \"startSec\": $(sec "$start"), \"endSec\": $(sec "$end"), \"startSample\": $start, \"endSample\": $end, \"botReply\": $(json_list "$replies"), \"interruptsBotReply\": $interrupted}"
  done
  {
    printf '{\n  "file": "%s.wav",\n  "description": "%s",\n' "$name" "$description"
    printf '  "sampleRate": %d,\n  "durationSec": %s,\n  "samples": %d,\n' "$RATE" "$(sec "$pos")" "$pos"
    printf '  "botGreeting": %s,\n' "$(json_list "$lead_for")"
    printf '  "utterances": [%s\n  ],\n' "$utt_json"
    if [[ -n "$dtmf_json" ]]; then printf '  "dtmf": [%s\n  ]\n' "$dtmf_json"; else printf '  "dtmf": []\n'; fi
    printf '}\n'
  } > "$outdir/caller/$name.cues.json"
}

json_list() { # json_list "a,b" -> ["a", "b"]
  local out="" x
  IFS=, read -ra xs <<<"$1"
  for x in "${xs[@]}"; do [[ -n "$out" ]] && out+=", "; out+="\"$x\""; done
  echo "[$out]"
}

build() { # build <outdir>
  local outdir="$1" work u
  work="$(mktemp -d)"
  BOT_OUT="$outdir/bot"
  mkdir -p "$outdir/caller" "$outdir/bot"

  for u in "${CALLER_ORDER[@]}"; do
    speak "$work/caller.$u.wav" CALLER_VOICE "${CALLER_TEXT[$u]}"
    to_ulaw_wav "$work/caller.$u.wav" "$outdir/caller/$u.wav"
    to_ulaw_raw "$work/caller.$u.wav" "$outdir/caller/$u.ulaw"
  done
  for u in "${BOT_ORDER[@]}"; do
    speak "$work/bot.$u.wav" BOT_VOICE "${BOT_TEXT[$u]}"
    to_ulaw_raw "$work/bot.$u.wav" "$outdir/bot/$u.ulaw"
  done

  compose "$outdir" multi-turn-call \
    "Order-status call without overlap: each pause is the next bot reply plus 1.5 s; the caller says goodbye at the end." "$work" \
    gap:greeting say:hello gap:ask-order say:order-number gap:order-status,anything-else \
    say:goodbye gap:farewell
  compose "$outdir" barge-in-call \
    "Barge-in: the caller starts the interrupt 2 s after hello ends, while the reply to hello (ask-order, ~3.9 s) is still playing." "$work" \
    gap:greeting say:hello barge:ask-order:2 say:interrupt gap:billing

  # Stereo L16 hello for the transcoding path: channel 0 (external) is the μ-law hello decoded to
  # 16-bit, so re-encoding it must give hello.ulaw back; channel 1 (internal) is digital silence.
  "${SOX[@]}" "$outdir/caller/hello.wav" -b 16 -e signed-integer "$work/hello.decoded.wav"
  silence "$work/hello.quiet.wav" "$(samples "$work/hello.decoded.wav")"
  "${SOX[@]}" -M "$work/hello.decoded.wav" "$work/hello.quiet.wav" -b 16 -e signed-integer \
    "$outdir/caller/hello-stereo-l16.wav"

  rm -rf "$work"
}

if [[ "${1:-}" == "--check" ]]; then
  a="$(mktemp -d)"; b="$(mktemp -d)"
  trap 'rm -rf "$a" "$b"' EXIT
  build "$a"; build "$b"
  (cd "$a" && find caller bot -type f | sort | xargs sha256sum) > "$a.sums"
  (cd "$b" && find caller bot -type f | sort | xargs sha256sum) > "$b.sums"
  diff -u "$a.sums" "$b.sums" || { echo "make-fixtures: two builds differ (not deterministic)" >&2; exit 1; }
  (cd "$ROOT/fixtures" && sha256sum --quiet -c "$a.sums") || {
    echo "make-fixtures: committed fixtures differ from a fresh build" >&2; exit 1; }
  rm -f "$a.sums" "$b.sums"
  echo "make-fixtures: deterministic, and the committed fixtures match a fresh build"
else
  build "$ROOT/fixtures"
  echo "make-fixtures: wrote $ROOT/fixtures/caller and $ROOT/fixtures/bot"
fi
