#!/usr/bin/env bash
# Writes Strimzi's KafkaTopic and KafkaUser CRDs into .ndx/tools/strimzi-crds/<apiVersion>/
# and prints that folder's parent. Strimzi's jars ship no CRD files: like Strimzi's own build,
# this runs its crd-generator (Maven Central, needs Java 21+) over its API classes.
#   v1:      Strimzi 1.2.0, the API served by Strimzi 0.49 and later (deploy/k8s/base)
#   v1beta2: Strimzi 0.51.0's classes, the API of Strimzi 0.23-0.51
#            (deploy/k8s/components/strimzi-v1beta2)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.ndx/tools/strimzi-crds"
pom="$here/strimzi-crds/pom.xml"
stamp="$(cat "$pom" "$0" | sha256sum | cut -c1-16)"

if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
  echo "$out"
  exit 0
fi

java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }

find_java() {
  local candidate major
  for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" \
    /usr/lib/jvm/*/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    major="$(java_major "$candidate")"
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

command -v mvn >/dev/null 2>&1 || {
  echo "Maven (mvn) is needed to fetch Strimzi's CRD generator from Maven Central" \
    "(Debian: apt-get install maven)" >&2
  exit 1
}
java="$(find_java)" || {
  echo "Strimzi's CRD generator needs Java 21 or later; none was found in JAVA_HOME, on PATH" \
    "or under /usr/lib/jvm (install a JDK 21+, e.g. Eclipse Temurin)" >&2
  exit 1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

generate() {  # generate API_CLASSES_VERSION API_VERSION
  local lib="$work/lib-$1" dest="$work/crds/$2"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    "-Dstrimzi.api.version=$1" "-DoutputDirectory=$lib" -DincludeScope=runtime >&2
  mkdir -p "$dest"
  "$java" -cp "$lib/*" io.strimzi.crdgenerator.CrdGenerator \
    --crd-api-version v1 --api-versions "$2" --storage-version "$2" --target-kube 1.16+ --yaml \
    "io.strimzi.api.kafka.model.topic.KafkaTopic=$dest/kafkatopic.yaml" \
    "io.strimzi.api.kafka.model.user.KafkaUser=$dest/kafkauser.yaml" >&2
}

generate 1.2.0 v1
generate 0.51.0 v1beta2
echo "$stamp" >"$work/crds/.stamp"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$work/crds" "$out"
echo "$out"
