# shellcheck shell=sh
# Sourced by ./mvnw, ./livemig and .ci/run: make JAVA_HOME point at a JDK >= 22 (FFM is final in 22;
# livemig targets 25) or stop with an error that says what is needed. The machine's default `java`
# may be 17, which cannot run FFM code, so PATH is never trusted on its own.
#   1. JAVA_HOME, when it is a JDK >= 22
#   2. /usr/lib/jvm/temurin-25*, then any /usr/lib/jvm/*25* / newer
#   3. `java` on PATH, when it is >= 22
livemig_java_feature() { # $1 = java binary; prints the feature version (17, 25, ...) or nothing
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n 1
}
livemig_find_jdk() {
  if [ -n "${JAVA_HOME-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    v=$(livemig_java_feature "$JAVA_HOME/bin/java")
    if [ -n "$v" ] && [ "$v" -ge 22 ]; then return 0; fi
  fi
  case $- in *f*) livemig_noglob=1; set +f ;; *) livemig_noglob= ;; esac  # mvnw runs with set -f
  for d in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/*2[6-9]* /usr/lib/jvm/*3[0-9]*; do
    if [ -x "$d/bin/javac" ]; then
      v=$(livemig_java_feature "$d/bin/java")
      if [ -n "$v" ] && [ "$v" -ge 22 ]; then JAVA_HOME=$d; export JAVA_HOME; break; fi
    fi
  done
  [ -z "$livemig_noglob" ] || set -f
  if [ -n "${JAVA_HOME-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    v=$(livemig_java_feature "$JAVA_HOME/bin/java")
    if [ -n "$v" ] && [ "$v" -ge 22 ]; then return 0; fi
  fi
  if command -v javac >/dev/null 2>&1; then
    d=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    v=$(livemig_java_feature "$d/bin/java")
    if [ -n "$v" ] && [ "$v" -ge 22 ]; then JAVA_HOME=$d; export JAVA_HOME; return 0; fi
  fi
  echo "livemig: no JDK 25 found. livemig needs JDK 25 (the FFM API; at least 22)." >&2
  echo "  looked at: JAVA_HOME=${JAVA_HOME-<unset>}, /usr/lib/jvm/temurin-25*, javac on PATH" >&2
  echo "  fix: install a JDK 25 (e.g. Temurin 25) and set JAVA_HOME to it" >&2
  return 1
}
livemig_find_jdk || exit 1
