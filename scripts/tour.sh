#!/usr/bin/env bash
# A short walk through a running NDX (after `make up`): look up a citizen, verify a claim
# without reading it, change an address, and see the change event on Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "python3 -m uv")
ndx() { $UV run --frozen ndx "$@"; }
field() { $UV run --frozen python -c "import json,sys; print(json.load(open('.ndx/seed.json'))['samples'][0]['$1'])"; }
say() { printf '\n\033[1m» %s\033[0m\n' "$*"; }
topic=ndx.population.citizen.v1

id=$(field citizen_id); name=$(field full_name); dob=$(field date_of_birth)
IFS=- read -r y m d <<<"$dob"

say "1. Look up citizen $id, asking only for the fields needed (AIP-161 read mask)"
ndx call population/GetCitizen \
  "{\"citizen_id\": \"$id\", \"read_mask\": \"citizenId,fullName,dateOfBirth,permanentAddress,version\"}" \
  --via population --as ndx-admin

say "2. Verify a claim without reading the data: is this $name, born $dob?"
ndx call population/VerifyCitizen \
  "{\"citizen_id\": \"$id\", \"claims\": {\"full_name\": \"$name\", \"date_of_birth\": {\"year\": $((10#$y)), \"month\": $((10#$m)), \"day\": $((10#$d))}}, \"claim_mask\": \"fullName,dateOfBirth\"}" \
  --via population --as ndx-admin
say "   ...and a wrong name gives MISMATCH, never the stored value"
ndx call population/VerifyCitizen \
  "{\"citizen_id\": \"$id\", \"claims\": {\"full_name\": \"Lê Văn Sai\"}, \"claim_mask\": \"fullName\"}" \
  --via population --as ndx-admin

version=$(ndx call population/GetCitizen "{\"citizen_id\": \"$id\", \"read_mask\": \"version\"}" \
  --via population --as ndx-admin | $UV run --frozen python -c "import json,sys; print(json.load(sys.stdin).get('version', 0))")
say "3. Move the citizen to Phường Bến Thành, Hồ Chí Minh City (expected version $version)"
ndx call population/UpdateCitizen \
  "{\"citizen\": {\"citizen_id\": \"$id\", \"permanent_address\": {\"ward_code\": \"26743\", \"street\": \"12 Lê Lợi\"}, \"current_address\": {\"ward_code\": \"26743\", \"street\": \"12 Lê Lợi\"}}, \"update_mask\": \"permanentAddress,currentAddress\", \"expected_version\": $version}" \
  --via population --as ndx-admin

say "4. The change as an event on $topic (protobuf value, CloudEvents headers, trace context)"
ndx events tail "$topic" --from-beginning --key "$id" --idle-timeout 3 --json | tail -n 1 |
  $UV run --frozen python -c '
import json, sys
e = json.loads(sys.stdin.read())
v = e["value"]
print(json.dumps({
    "topic": e["topic"], "partition": e["partition"], "offset": e["offset"], "key": e["key"],
    "headers": e["headers"],
    "value (CitizenChanged)": {
        "op": v["op"], "version": v["version"], "changed_fields": v["changed_fields"],
        "before.permanent_address": v["before"].get("permanent_address"),
        "after.permanent_address": v["after"].get("permanent_address"),
    },
}, ensure_ascii=False, indent=2))'
say "   (the full event: uv run ndx events tail $topic --from-beginning --key $id)"


land() { $UV run --frozen python -c "import json; print(json.load(open('.ndx/seed.json'))['land']['samples'][0]['$1'])"; }
parcel=$(land parcel_id); holder=$(land citizen_id); holder_name=$(land full_name)
say "5. $holder_name holds a right on parcel $parcel: the land registry verifies it without revealing the parcel"
ndx call land/VerifyLandRight "{\"parcel_id\": \"$parcel\", \"citizen_id\": \"$holder\"}" --via land --as ndx-admin

version=$(ndx call population/GetCitizen "{\"citizen_id\": \"$holder\", \"read_mask\": \"version\"}" \
  --via population --as ndx-admin | $UV run --frozen python -c "import json,sys; print(json.load(sys.stdin).get('version', 0))")
today=$(date +%Y-%m-%d); IFS=- read -r ty tm td <<<"$today"
say "6. The population registry records $holder_name's death; the land registry follows the event"
ndx call population/RecordDeath \
  "{\"citizen_id\": \"$holder\", \"date_of_death\": {\"year\": $((10#$ty)), \"month\": $((10#$tm)), \"day\": $((10#$td))}, \"expected_version\": $version}" \
  --via population --as ndx-admin >/dev/null || echo "   (recorded on an earlier run)"
sleep 2
ndx call land/GetParcel "{\"parcel_id\": \"$parcel\", \"read_mask\": \"parcelId,holders,version\"}" \
  --via land --as ndx-admin
ndx consumers status --group ndx-land | tail -n 1

say "Done. Stop everything with 'make down'; run the tests with 'make test'."
