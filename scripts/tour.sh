#!/usr/bin/env bash
# A short walk through a running NDX (after `make up`). Agencies call the gateway with their own
# certificates, a purpose and an officer id: a tax lookup that gets only the granted fields, a
# bank's yes/no verification, a refused read mask, a change and its event, a death the land
# registry follows, and at the end the citizen's own view of who read their data.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "python3 -m uv")
home=${NDX_HOME:-.ndx}
ndx() { $UV run --frozen ndx "$@"; }
py() { $UV run --frozen python -c "$@"; }
seed() { py "import json; print(json.load(open('$home/seed.json'))$1)"; }
say() { printf '\n\033[1m» %s\033[0m\n' "$*"; }
topic=${POPULATION_CITIZEN_TOPIC:-ndx.population.citizen.v1}
land_group=${LAND_CONSUMER_GROUP:-ndx-land}

id=$(seed "['samples'][0]['citizen_id']"); name=$(seed "['samples'][0]['full_name']")
dob=$(seed "['samples'][0]['date_of_birth']")
IFS=- read -r y m d <<<"$dob"
tax=(--as tax-authority --purpose tax-registration --officer hcm-tax-017)
bank=(--as bank-ekyc --purpose ekyc --officer teller-0042)
police=(--as police --purpose population-management --officer ca-hcm-31)
version_of() {
  ndx call population/GetCitizen "{\"citizen_id\": \"$1\", \"read_mask\": \"version\"}" "${police[@]}" |
    py "import json,sys; print(json.load(sys.stdin).get('version', 0))"
}

say "1. The tax authority looks up citizen $id through the gateway (purpose tax-registration)"
echo "   It receives only the fields its purpose grants; the gateway names what it withheld."
ndx call population/GetCitizen "{\"citizen_id\": \"$id\"}" "${tax[@]}"

say "2. A bank checks a customer without reading the record (verify-only): is this $name, born $dob?"
ndx call population/VerifyCitizen \
  "{\"citizen_id\": \"$id\", \"claims\": {\"full_name\": \"$name\", \"date_of_birth\": {\"year\": $((10#$y)), \"month\": $((10#$m)), \"day\": $((10#$d))}}, \"claim_mask\": \"fullName,dateOfBirth\"}" \
  "${bank[@]}"
say "   ...and a wrong name gives MISMATCH, never the stored value"
ndx call population/VerifyCitizen \
  "{\"citizen_id\": \"$id\", \"claims\": {\"full_name\": \"Lê Văn Sai\"}, \"claim_mask\": \"fullName\"}" \
  "${bank[@]}"

say "3. Asking for a field the purpose does not grant (religion) is refused, naming the field"
ndx call population/GetCitizen "{\"citizen_id\": \"$id\", \"read_mask\": \"fullName,religion\"}" \
  "${tax[@]}" || echo "   (exit $?: PERMISSION_DENIED, and the refusal is audited too)"

version=$(version_of "$id")
say "4. The police, owner of the population database, move the citizen to Phường Bến Thành (version $version)"
ndx call population/UpdateCitizen \
  "{\"citizen\": {\"citizen_id\": \"$id\", \"permanent_address\": {\"ward_code\": \"26743\", \"street\": \"12 Lê Lợi\"}, \"current_address\": {\"ward_code\": \"26743\", \"street\": \"12 Lê Lợi\"}}, \"update_mask\": \"permanentAddress,currentAddress\", \"expected_version\": $version}" \
  "${police[@]}"

say "5. The change as an event on $topic (protobuf value, CloudEvents headers, trace context)"
ndx events tail "$topic" --from-beginning --key "$id" --idle-timeout 3 --json | tail -n 1 |
  py '
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

parcel=$(seed "['land']['samples'][0]['parcel_id']"); holder=$(seed "['land']['samples'][0]['citizen_id']")
holder_name=$(seed "['land']['samples'][0]['full_name']")
say "6. $holder_name holds a right on parcel $parcel: the bank has it confirmed without seeing the parcel"
ndx call land/VerifyLandRight "{\"parcel_id\": \"$parcel\", \"citizen_id\": \"$holder\"}" "${bank[@]}"

version=$(version_of "$holder")
today=$(date +%Y-%m-%d); IFS=- read -r ty tm td <<<"$today"
say "7. The police record $holder_name's death; the land registry follows the event"
ndx call population/RecordDeath \
  "{\"citizen_id\": \"$holder\", \"date_of_death\": {\"year\": $((10#$ty)), \"month\": $((10#$tm)), \"day\": $((10#$td))}, \"expected_version\": $version}" \
  "${police[@]}" >/dev/null || echo "   (recorded on an earlier run)"
sleep 2
ndx call land/GetParcel "{\"parcel_id\": \"$parcel\", \"read_mask\": \"parcelId,holders,version\"}" \
  --as land-office --purpose land-registration --officer hcm-land-005
ndx consumers status --group "$land_group" | tail -n 1

say "8. Citizen $id sees who read their data (the data tracker, as the citizen portal shows it)"
ndx audit trail "$id" --officer "citizen:$id"

say "9. Every decision above is a link of a hash chain; an edited or removed record breaks it"
ndx audit verify

say "Done. Stop everything with 'make down'; run the tests with 'make test'."
