"""The EDC's messages a coordinator meets, listed here so that the Japanese catalogue has them.

The services write their messages in English as constants (`mmtrial.edc.services.*`);
`mmtrial.web.errors.translate_message` finds the constant a message was made from and shows the
translated text with the same values. tests/web/test_i18n.py checks that every text here is
still a constant of the EDC (so a reworded message is noticed) and is translated.
"""

from django.utils.translation import gettext_noop

SERVICE_MESSAGES = (
    gettext_noop("A reason for change is required when changing data that was already entered."),
    gettext_noop(
        "This record was changed by someone else since you opened it (your version {expected}, "
        "now {current}). Reload it to see their change, then edit again."
    ),
    gettext_noop(
        "Participant {subject} is locked by data management; unlock it before changing data."
    ),
    gettext_noop("Visit {code} is locked by data management; unlock it before changing data."),
    gettext_noop("Participant {subject} has not started treatment."),
    gettext_noop(
        "Participant {subject} already has {what} recorded; correct it with a reason instead."
    ),
    gettext_noop("Participant {subject} has died ({date}): no further contact can be recorded."),
    gettext_noop(
        "Participant {subject} has no derived progression: follow-up contacts start after "
        "progression."
    ),
    gettext_noop(
        "collected on: {date} is before the participant's consent ({consent}); no study data may "
        "be collected before consent."
    ),
    gettext_noop("collected on: {date} is in the future."),
    gettext_noop("accession: a central-laboratory result needs its accession number."),
    gettext_noop("{what} is already locked."),
    gettext_noop("{what} is not locked."),
    gettext_noop("Give a reason for unlocking: the audit trail keeps it."),
    gettext_noop("Give a reason for locking: the audit trail keeps it."),
    gettext_noop("Screening number {number} is already used at site {site}."),
    gettext_noop("consent date: {date} is in the future."),
    gettext_noop("Participant {subject} has no screening record yet: record screening first."),
    gettext_noop("Participant {subject} is not eligible: {criteria}."),
    gettext_noop("Participant {subject} is already enrolled (subject id {subject_id})."),
    gettext_noop(
        "Only an investigator can answer the criteria the investigator judges ({criteria}); "
        "save the values and ask the investigator to answer them."
    ),
    gettext_noop("enrolled on: {date} is before the screening date {screened}."),
    gettext_noop("screened on: {date} is before the consent date {consent} (consent first)."),
    gettext_noop("Write the question or answer: the text is empty."),
    gettext_noop("Query {pk} is {status}; only an open query can be answered."),
    gettext_noop("Query {pk} is already closed."),
    gettext_noop("Query {pk} is already open."),
    gettext_noop(
        "Query {pk} has no answer yet: say why it is closed (for example, raised in error)."
    ),
    gettext_noop(
        "Query {pk} was changed by someone else since you opened it (your version {expected}, "
        "now {current}). Reload it first."
    ),
    gettext_noop(
        "The investigator's response {investigator} on {date} differs from the response derived "
        "from the laboratory and disease data ({derived}). Please review and confirm or correct."
    ),
    gettext_noop(
        "There is no response assessment on {date}: enter the central laboratory or disease "
        "assessment values of that date first."
    ),
    gettext_noop(
        "Confirm that your electronic signature is the equivalent of your handwritten signature."
    ),
    gettext_noop("Choose what the signature means: {choices}."),
    gettext_noop(
        "Your identity has not been verified by another person yet, so you cannot sign. "
        "Ask the sponsor administrator to verify it."
    ),
    gettext_noop("Signatures cannot be applied while acting as another user."),
    gettext_noop("Enter your user name and password: this is your first signature since login."),
    gettext_noop("The user name entered is not yours; only the owner can apply a signature."),
    gettext_noop("Enter your password to sign."),
    gettext_noop("The password is not correct; the signature was not applied."),
    gettext_noop(
        "Your account is locked after repeated failed passwords; ask an administrator to unlock it."
    ),
    gettext_noop("Participant {subject} is not enrolled: treatment cannot start."),
    gettext_noop("Participant {subject} is off treatment: no further cycle can start."),
    gettext_noop(
        "start date: {date} is before cycle {prev} ends (it started {prev_start}; a cycle lasts "
        "{length} days)"
    ),
    gettext_noop(
        "No {what} collected within {days} days before {date}: record it before starting the cycle."
    ),
    gettext_noop(
        "No body weight recorded (visit or screening): record it before the cycle starts."
    ),
    gettext_noop("start date: {date} is before enrollment ({enrolled})"),
    gettext_noop("Visit {code} is already recorded as {status}; correct it with a reason instead."),
    gettext_noop("You do not have permission to {action} here."),
    gettext_noop("Give a reason: the audit trail keeps it."),
    gettext_noop("The password is not accepted: {problems}"),
    gettext_noop("Your current password is not correct."),
    gettext_noop("The new password must differ from the current one."),
    gettext_noop(
        "Your account is locked after repeated wrong passwords; an administrator must unlock it."
    ),
    gettext_noop(
        "Adverse event '{term}' grade {grade} (from {start}) cannot be read by the dose rules: "
        "{problem}. Correct the adverse event, then start the cycle."
    ),
    gettext_noop(
        "Adverse event '{term}' grade {grade} (from {start}) has no count recorded during it, "
        "and grade {grade} does not tell whether the count was below the label's threshold: "
        "record the count (local or central lab), then start the cycle."
    ),
    gettext_noop(
        "Participant {subject} has no cycle waiting for an investigator's renal decision."
    ),
    gettext_noop(
        "The version of the record you changed is missing, so a newer change could be "
        "overwritten: reload the page and enter your change again."
    ),
    gettext_noop("{label}: {date} is in the future (today is {today} at the site)."),
    gettext_noop(
        "{label}: {date} is before the participant's consent ({consent}); no study data may be "
        "collected before consent."
    ),
    gettext_noop("{label}: {value} is impossible; it must be {limits}."),
    gettext_noop("{label} {value} is unusual (expected {limits}): please confirm or correct it."),
    gettext_noop(
        "{drug} dose taken: {dose} mg is not a dose level of the protocol ({levels}); say why in "
        "the reason."
    ),
    gettext_noop("{drug} {dose} mg taken is not a dose level of the protocol: please confirm."),
    # Coded errors (issue 12 item 2) whose Japanese was missing: locale-pending/codes.json.
    gettext_noop("{label}: {value} is not a whole number."),
    gettext_noop(">= {minimum}{unit} and <= {maximum}{unit}"),
    gettext_noop(">= {minimum}{unit} and < {maximum}{unit}"),
    gettext_noop("> {minimum}{unit} and <= {maximum}{unit}"),
    gettext_noop("> {minimum}{unit} and < {maximum}{unit}"),
    gettext_noop("{analyte}: {problem}"),
    gettext_noop("{analyte} unit: {problem}"),
    gettext_noop("unknown analyte {analyte!r} (known: {known})"),
    gettext_noop("{analyte} takes no unit (got {unit!r})"),
    gettext_noop("{analyte} must be positive or negative, not {value!r}"),
    gettext_noop("unit {unit!r} is not accepted for {analyte} (accepted: {accepted})"),
    gettext_noop("a value is required"),
    gettext_noop("{value!r} is not a number"),
    gettext_noop("{value!r} is not a finite number"),
    gettext_noop("{value} is negative; a lab value cannot be below 0"),
    gettext_noop("{value} {unit} is too large to be a lab value"),
    gettext_noop("Cycle {number} has not been started."),
    gettext_noop("No audit trail for {model} {object_pk} at the sites you can see."),
    gettext_noop("No query {pk} at the sites you can see."),
    gettext_noop("No {kind} {pk} at the sites you can see."),
    gettext_noop("No site {code} among the sites you may export."),
    gettext_noop("No participant {label} among the participants you may export."),
    gettext_noop("Participant {pid} was not found among the participants you may see."),
    gettext_noop(
        "Returned and lost ({returned} + {lost}) are more than the {dispensed} dispensed."
    ),
    gettext_noop("Date returned: {returned} is before the date dispensed ({dispensed})."),
    gettext_noop("outcome: {value!r} is not a CDISC outcome ({known})"),
    gettext_noop("aware at: {value} is in the future"),
    gettext_noop("aware at: {value} is before the event started ({start})"),
    gettext_noop("Adverse event {pk} was not found among the records you may see."),
    gettext_noop("actions.{drug}: {value!r} is not a CDISC action taken ({known})"),
    gettext_noop(
        "dose links.{drug}: dose record {pk} is not one of this participant's {drug} doses"
    ),
    gettext_noop(
        "Deviation {pk} was changed by someone else since you opened it (your version {expected}, now {current}). Reload it and try again."
    ),
    gettext_noop("No deviation {pk}."),
    gettext_noop("Deviation {pk} is {status}; only an open deviation can be resolved."),
    gettext_noop("Cycle {number} of participant {subject} was not found."),
    gettext_noop("Dose {pk} is not a planned dose of cycle {number}: reload the page."),
    gettext_noop("Lab result {pk} was not found among the results you may see."),
    gettext_noop("There is no {model} {object_pk} for participant {subject}."),
    gettext_noop("Unknown query origin '{origin}'."),
    gettext_noop("There is no record type '{model}' to raise a query on."),
    gettext_noop("The record type '{model}' has no field '{field}'."),
    gettext_noop(
        "The randomization lists already exist (generated {at} by {by}); they are never made again."
    ),
    gettext_noop("Participant {subject} has not been randomized."),
    gettext_noop("The study was unblinded on {at}."),
    gettext_noop("response: {value!r} is not an IMWG category ({known})"),
    gettext_noop("kind: {kind!r} must be initial or follow_up"),
    gettext_noop("Adverse event {pk} is not serious: only a serious adverse event is reported."),
    gettext_noop(
        "Adverse event {pk} has no date and time of the site's awareness: record it on the adverse event first."
    ),
    gettext_noop("sent at: {sent} is before the site became aware of the event ({aware})"),
    gettext_noop("Adverse event {pk} already has its initial report; send a follow-up."),
    gettext_noop("Adverse event {pk} has no initial report yet: send the initial report first."),
    gettext_noop(
        # {plural} is the English plural ending: Japanese needs none of it
        # xgettext:no-python-brace-format
        "Participant {subject} has {count} unresolved quer{plural}; close them before signing."
    ),
    gettext_noop("There is no site '{code}'."),
    gettext_noop(
        "Site code '{code}' is not valid: use 1 to 16 letters, digits or hyphens, e.g. JP-01."
    ),
    gettext_noop("A site with code '{code}' already exists."),
    gettext_noop("'{timezone}' is not a known time zone (use e.g. Asia/Tokyo)."),
    gettext_noop("Dose {pk} was not found among the records you may see."),
    gettext_noop("Unknown role '{role}'; choose one of: {choices}."),
    gettext_noop("There is no user '{username}'."),
    gettext_noop(
        "The user name '{username}' is taken (user names are never reused, whatever their case)."
    ),
    gettext_noop(
        "A password's maximum age must be between {low} and {high} days (or none); got {days}."
    ),
    gettext_noop("The password's maximum age is already {days}."),
    gettext_noop("User name '{username}': {problem}"),
    gettext_noop("Visit {pk} was not found among the visits you may see."),
    gettext_noop(
        "Another central laboratory import is running{what}; nothing was imported. Import this file again when it has finished."
    ),
)
