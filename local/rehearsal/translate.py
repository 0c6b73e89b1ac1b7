# Expands SAM templates into plain CloudFormation with the SAM translator (aws-sam-translator),
# the library that CloudFormation's AWS::Serverless-2016-10-31 transform and the SAM CLI run.
# A worker, so that the translator is imported once (it takes seconds): it first writes
# {"version": ...}, then reads one JSON request per line, {"template": {...}, "parameters":
# {...}}, and answers each with one line, {"template": {...}} or {"error": [reasons]}.
# Run by local/rehearsal (Go), which sets AWS_DEFAULT_REGION.
import json
import sys

try:
    import samtranslator
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
except ImportError as err:
    print(json.dumps({"error": ["cannot import samtranslator: %s" % err]}), flush=True)
    sys.exit(3)


class NoManagedPolicies:
    """The template names no managed policy by name (its role lists ARNs), so none is looked up."""

    def load(self):
        return {}


def answer(document):
    sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")
    sys.stdout.flush()


answer({"version": samtranslator.__version__})
for line in sys.stdin:
    request = json.loads(line)
    try:
        expanded = transform(request["template"], request.get("parameters") or {}, NoManagedPolicies())
        answer({"template": expanded})
    except InvalidDocumentException as err:
        answer({"error": [cause.message for cause in err.causes]})
    except Exception as err:  # the translator's own failures, reported rather than fatal
        answer({"error": ["%s: %s" % (type(err).__name__, err)]})
