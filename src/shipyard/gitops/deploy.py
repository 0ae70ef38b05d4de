"""Deploy strategies as data (deploy/overlays), what each step of one applies, and the
offline checks every rendered overlay passes.

A strategy is a kustomize overlay; a step (`deploy`, `promote`, `abort`) is the overlay
plus the images (and, for blue-green, which slot is live) in one kustomization that `make`
writes to build/deploy and applies. Image placeholders: `shipyard` is this release (the
bundle's model version), `shipyard-stable` the version in prod (the registry), and
`shipyard-blue` / `shipyard-green` whatever each blue-green slot runs.

The checks: every resource against the Kubernetes API's own schema (kubernetes-validate,
strict: an unknown field is an error) for several Kubernetes versions, and the rules a
schema cannot see (a Service that selects no pod, a canary split off its target, ...).
Each problem names its rule.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STRATEGIES = ("rolling", "canary", "blue-green", "shadow")
PHASES = ("deploy", "promote", "abort")
SLOTS = ("blue", "green")
# BentoML's own health routes (bentoml/_internal/server/base_app.py): 200 while the process
# lives, and 200 once the service is ready (the model loaded). tests/test_deploy.py checks
# that BentoML still serves them.
LIVENESS, READINESS = "/livez", "/readyz"
# The Kubernetes minor versions every overlay must pass (`make validate-deploy` K8S_VERSIONS).
K8S_VERSIONS = ("1.33", "1.34", "1.35")
STRATEGY = "shipyard.dev/strategy"  # annotation: the overlay a resource was rendered from
WEIGHT = "shipyard.dev/traffic-weight"  # annotation: the canary's share of requests, in %
SERVICE = "shipyard"  # the Service clients call
CANDIDATE_SERVICES = {"canary": "shipyard-canary", "blue-green": "shipyard-preview"}
SHADOW_ENV = "SHIPYARD_SHADOW_BUNDLE"


# --- One step of a strategy -----------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What one step applies: a kustomization (to write in build/deploy), the Deployments
    to wait for, the Deployments and Services to delete afterwards (a canary that is done),
    and which model version must answer the smoke test and where (`smoke_via`: the Service
    whose address, DEPLOY_URL or CANDIDATE_URL, the smoke test calls; None = no smoke
    test)."""

    kustomization: dict[str, Any]
    rollouts: list[str]
    prune: list[str] = field(default_factory=list)
    smoke_version: str | None = None
    smoke_via: str | None = None


def _images(image: str, tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "newName": image, "newTag": tag} for name, tag in sorted(tags.items())]


def _kustomization(overlay: str, image: str, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [overlay],
        "images": _images(image, tags),
    }


def _selector_patch(service: str, slot: str) -> dict[str, Any]:
    return {
        "target": {"kind": "Service", "name": service},
        "patch": f"- {{op: replace, path: /spec/selector/slot, value: {slot}}}",
    }


def plan(
    strategy: str,
    phase: str,
    image: str,
    candidate: str,
    stable: str | None,
    overlays: str = "../../deploy/overlays",
    live_slot: str = "blue",
) -> Step:
    """The step `phase` of `strategy`, from build/deploy (`overlays` relative to it).
    `candidate` is this release's model version, `stable` prod's (None on a first
    release: the candidate is all there is). deploy: the candidate beside stable (rolling:
    instead of it); promote: the candidate takes all traffic; abort: back to stable."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy '{strategy}' is not one of {list(STRATEGIES)}")
    if phase not in PHASES:
        raise ValueError(f"phase '{phase}' is not one of {list(PHASES)}")
    if live_slot not in SLOTS:
        raise ValueError(f"live slot '{live_slot}' is not one of {list(SLOTS)}")
    stable = stable or candidate
    winner = stable if phase == "abort" else candidate
    if strategy == "blue-green":
        return _blue_green(phase, image, candidate, stable, overlays, live_slot)
    rolling = Step(
        _kustomization(f"{overlays}/rolling", image, {"shipyard": winner}),
        ["deployment/shipyard"],
        # a canary that is done (promoted or aborted) goes; for the others, nothing is there
        prune=["deployment/shipyard-canary", "service/shipyard-canary"],
        smoke_version=winner,
        smoke_via=SERVICE,
    )
    if strategy == "rolling" and phase == "promote":
        # the rollout and its smoke test were the check: re-applying changes nothing
        return Step(rolling.kustomization, [])
    if strategy == "rolling" or phase != "deploy":
        return rolling
    both = {"shipyard": candidate, "shipyard-stable": stable}
    if strategy == "canary":
        return Step(
            _kustomization(f"{overlays}/canary", image, both),
            ["deployment/shipyard", "deployment/shipyard-canary"],
            smoke_version=candidate,
            smoke_via=CANDIDATE_SERVICES["canary"],
        )
    # shadow: stable answers (the smoke test sees it); the candidate only logs
    return Step(
        _kustomization(f"{overlays}/shadow", image, both),
        ["deployment/shipyard"],
        smoke_version=stable,
        smoke_via=SERVICE,
    )


def _blue_green(
    phase: str, image: str, candidate: str, stable: str, overlays: str, live: str
) -> Step:
    """deploy: the candidate in the idle slot, smoke-tested there (the preview Service);
    promote: the Services switch slots; abort: the idle slot back to stable, still idle."""
    (idle,) = [slot for slot in SLOTS if slot != live]
    tags = {
        f"shipyard-{live}": stable,
        f"shipyard-{idle}": stable if phase == "abort" else candidate,
    }
    serving = idle if phase == "promote" else live
    (preview,) = [slot for slot in SLOTS if slot != serving]
    kustomization = _kustomization(f"{overlays}/blue-green", image, tags)
    kustomization["patches"] = [
        _selector_patch(SERVICE, serving),
        _selector_patch(CANDIDATE_SERVICES["blue-green"], preview),
    ]
    return Step(
        kustomization,
        [f"deployment/shipyard-{slot}" for slot in SLOTS],
        smoke_version=candidate if phase != "abort" else stable,
        smoke_via=CANDIDATE_SERVICES["blue-green"] if phase == "deploy" else SERVICE,
    )


# --- Checks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    rule: str
    resource: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource}: {self.message}"


def render(overlay: Path, kubectl: str = "kubectl") -> list[dict[str, Any]]:
    """`kubectl kustomize overlay`, as resources. RuntimeError with kustomize's message."""
    import yaml

    done = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay}: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def name_of(resource: dict[str, Any]) -> str:
    return f"{resource.get('kind', '?')}/{resource.get('metadata', {}).get('name', '?')}"


def schema_problems(resources: list[dict[str, Any]], versions: Iterable[str]) -> list[Problem]:
    """Each resource against the API schema of each Kubernetes version, strictly. A kind
    with no schema (a custom resource) is a problem too: the CLI only warns, and an
    unchecked resource is what this check is for."""
    import kubernetes_validate.utils as kv

    found = []
    for version in versions:
        for resource in resources:
            try:
                kv.validate(resource, version, strict=True)
            except kv.ValidationError as err:
                where = ".".join(str(p) for p in err.path)
                found.append(
                    Problem("schema", name_of(resource), f"{version}: {where}: {err.message}")
                )
            except kv.SchemaNotFoundError as err:
                found.append(
                    Problem("unknown-kind", name_of(resource), f"{version}: {err.message}")
                )
    return found


def _of_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r.get("kind") == kind]


def _pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"].get("labels", {})


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _strategy(resources: list[dict[str, Any]]) -> str | None:
    found = {r.get("metadata", {}).get("annotations", {}).get(STRATEGY) for r in resources}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def selector_problems(resources: list[dict[str, Any]]) -> list[Problem]:
    """Each Deployment selects its own pods and no other Deployment's; each Service selects
    some Deployment's pods, on a port they name; each HPA scales a Deployment that exists."""
    deployments = _of_kind(resources, "Deployment")
    found = []
    for d in deployments:
        selector = d["spec"].get("selector", {}).get("matchLabels", {})
        if not _selects(selector, _pod_labels(d)):
            found.append(Problem("selector-matches-pods", name_of(d), "selects none of its pods"))
        for other in deployments:
            if other is not d and _selects(selector, _pod_labels(other)):
                found.append(
                    Problem(
                        "overlapping-selectors",
                        name_of(d),
                        f"its selector {selector} also matches {name_of(other)}'s pods",
                    )
                )
    for s in _of_kind(resources, "Service"):
        selector = s["spec"].get("selector", {})
        chosen = [d for d in deployments if _selects(selector, _pod_labels(d))]
        if not chosen:
            found.append(
                Problem("selector-matches-pods", name_of(s), f"selector {selector} matches no pods")
            )
        for port in s["spec"].get("ports", []):
            target = port.get("targetPort")
            for d in chosen:
                names = {p.get("name") for c in _containers(d) for p in c.get("ports", [])} | {
                    p.get("containerPort") for c in _containers(d) for p in c.get("ports", [])
                }
                if target not in names:
                    found.append(
                        Problem(
                            "selector-matches-pods",
                            name_of(s),
                            f"targetPort {target!r} is no port of {name_of(d)}",
                        )
                    )
    names = {d["metadata"]["name"] for d in deployments}
    for h in _of_kind(resources, "HorizontalPodAutoscaler"):
        target = h["spec"]["scaleTargetRef"]
        if target.get("kind") != "Deployment" or target.get("name") not in names:
            found.append(Problem("hpa-target", name_of(h), f"scales {target}, not in the render"))
    return found


def _containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return deployment["spec"]["template"]["spec"].get("containers", [])


def probe_problems(resources: list[dict[str, Any]]) -> list[Problem]:
    """Every serving container: liveness on LIVENESS, readiness on READINESS (a startup
    probe, if any, on LIVENESS), each on a port the container declares."""
    wanted = {"livenessProbe": LIVENESS, "readinessProbe": READINESS, "startupProbe": LIVENESS}
    found = []
    for d in _of_kind(resources, "Deployment"):
        for c in _containers(d):
            ports = {p.get("name") for p in c.get("ports", [])}
            ports |= {p.get("containerPort") for p in c.get("ports", [])}
            for probe, path in wanted.items():
                get = c.get(probe, {}).get("httpGet")
                if get is None:
                    if probe != "startupProbe":
                        found.append(Problem("probes", name_of(d), f"{c['name']}: no HTTP {probe}"))
                    continue
                if get.get("path") != path:
                    found.append(
                        Problem(
                            "probes",
                            name_of(d),
                            f"{c['name']}: {probe} on {get.get('path')!r}, not {path} "
                            "(BentoML's route)",
                        )
                    )
                if get.get("port") not in ports:
                    found.append(
                        Problem(
                            "probes",
                            name_of(d),
                            f"{c['name']}: {probe} port {get.get('port')!r} undeclared",
                        )
                    )
    return found


def _replicas(deployment: dict[str, Any], resources: list[dict[str, Any]]) -> int:
    """The replicas a Deployment runs at rest: its own, or its HPA's floor if it has one."""
    for h in _of_kind(resources, "HorizontalPodAutoscaler"):
        if h["spec"]["scaleTargetRef"].get("name") == deployment["metadata"]["name"]:
            return int(h["spec"].get("minReplicas", 1))
    return int(deployment["spec"].get("replicas", 1))


def canary_problems(resources: list[dict[str, Any]]) -> list[Problem]:
    """The canary's share of the pods behind the Service is its traffic weight, within one
    replica (the split is the replica ratio)."""
    service = next(
        (s for s in _of_kind(resources, "Service") if s["metadata"]["name"] == SERVICE), None
    )
    if service is None:
        return [Problem("canary-ratio", f"Service/{SERVICE}", "missing")]
    behind = [
        d
        for d in _of_kind(resources, "Deployment")
        if _selects(service["spec"].get("selector", {}), _pod_labels(d))
    ]
    weighted = [d for d in behind if WEIGHT in d["metadata"].get("annotations", {})]
    if len(weighted) != 1 or len(behind) != 2:
        return [
            Problem(
                "canary-ratio",
                name_of(service),
                f"selects {len(behind)} Deployments, {len(weighted)} with {WEIGHT}: "
                "a canary is one stable and one weighted canary Deployment",
            )
        ]
    canary = weighted[0]
    weight = float(canary["metadata"]["annotations"][WEIGHT])
    total = sum(_replicas(d, resources) for d in behind)
    target = weight / 100 * total
    actual = _replicas(canary, resources)
    if abs(actual - target) > 1:
        return [
            Problem(
                "canary-ratio",
                name_of(canary),
                f"{actual} of {total} replicas is {100 * actual / total:.0f} % of the "
                f"requests, not {weight:g} % (target {target:.1f} replicas, +-1)",
            )
        ]
    return []


def blue_green_problems(resources: list[dict[str, Any]]) -> list[Problem]:
    """The Service selects exactly one slot's pods, and the preview exactly the other."""
    services = {s["metadata"]["name"]: s for s in _of_kind(resources, "Service")}
    found, chosen = [], {}
    for name in (SERVICE, CANDIDATE_SERVICES["blue-green"]):
        if name not in services:
            found.append(Problem("blue-green-one-slot", f"Service/{name}", "missing"))
            continue
        selector = services[name]["spec"].get("selector", {})
        slots = {
            _pod_labels(d).get("slot")
            for d in _of_kind(resources, "Deployment")
            if _selects(selector, _pod_labels(d))
        }
        if len(slots) != 1 or None in slots:
            found.append(
                Problem(
                    "blue-green-one-slot",
                    f"Service/{name}",
                    f"selects slots {sorted(map(str, slots))}, not exactly one",
                )
            )
        else:
            chosen[name] = slots.pop()
    if len(chosen) == 2 and len(set(chosen.values())) == 1:
        found.append(
            Problem(
                "blue-green-one-slot", f"Service/{SERVICE}", "the preview selects the live slot"
            )
        )
    return found


def shadow_problems(resources: list[dict[str, Any]]) -> list[Problem]:
    """The primary loads the candidate from SHADOW_ENV, inside a volume that an init
    container fills."""
    found = []
    for d in _of_kind(resources, "Deployment"):
        pod = d["spec"]["template"]["spec"]
        mounts = {
            m["name"]: m["mountPath"]
            for c in pod.get("initContainers", [])
            for m in c.get("volumeMounts", [])
        }
        for c in pod.get("containers", []):
            env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
            bundle = env.get(SHADOW_ENV)
            if bundle is None:
                found.append(
                    Problem("shadow-candidate", name_of(d), f"{c['name']}: no {SHADOW_ENV}")
                )
                continue
            filled = [
                m["name"]
                for m in c.get("volumeMounts", [])
                if bundle.startswith(m["mountPath"].rstrip("/") + "/") and m["name"] in mounts
            ]
            if not filled:
                found.append(
                    Problem(
                        "shadow-candidate",
                        name_of(d),
                        f"{SHADOW_ENV}={bundle} is in no volume an init container writes",
                    )
                )
    return found


STRATEGY_RULES = {
    "canary": canary_problems,
    "blue-green": blue_green_problems,
    "shadow": shadow_problems,
}


def semantic_problems(resources: list[dict[str, Any]]) -> list[Problem]:
    strategy = _strategy(resources)
    found = selector_problems(resources) + probe_problems(resources)
    if strategy is None:
        found.append(Problem("strategy", "<render>", f"no single {STRATEGY} annotation"))
    elif strategy in STRATEGY_RULES:
        found += STRATEGY_RULES[strategy](resources)
    elif strategy not in STRATEGIES:
        found.append(
            Problem("strategy", "<render>", f"'{strategy}' is not one of {list(STRATEGIES)}")
        )
    return found


def check(resources: list[dict[str, Any]], versions: Iterable[str] = K8S_VERSIONS) -> list[Problem]:
    return schema_problems(resources, versions) + semantic_problems(resources)


# --- Applying a step --------------------------------------------------------------------


class StepFailed(RuntimeError):
    """A step did not complete: kubectl failed, a rollout timed out, the smoke test failed."""


class NotStarted(StepFailed):
    """A step refused before applying anything (nothing to undo)."""


def _kubectl(kubectl: str, *args: str) -> str:
    done = subprocess.run([kubectl, *args], capture_output=True, text=True)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()
        raise StepFailed(f"kubectl {' '.join(args)}: {said or f'exit {done.returncode}'}")
    return done.stdout.strip()


def live_slot(kubectl: str) -> str:
    """The blue-green slot the Service selects now; blue before the first deploy."""
    try:
        slot = _kubectl(kubectl, "get", "service", SERVICE, "-o", "jsonpath={.spec.selector.slot}")
    except StepFailed:  # no Service yet
        return SLOTS[0]
    return slot if slot in SLOTS else SLOTS[0]


def run_step(
    step: Step,
    out: Path,
    kubectl: str,
    urls: dict[str, str],
    bundle: Path,
    timeout_s: int = 300,
) -> str:
    """Write the step's kustomization to `out`, apply it in one apply, wait for its
    rollouts, delete what it leaves behind and smoke-test it through `urls[step.smoke_via]`
    (the Service's address). Returns what the smoke test said; StepFailed says what
    failed."""
    import yaml

    from shipyard.gitops.release import smoke

    url = urls.get(step.smoke_via) if step.smoke_via else None
    if step.smoke_via and not url:  # before anything is applied
        raise NotStarted(
            f"no address for Service {step.smoke_via} to smoke-test: set "
            + ("DEPLOY_URL" if step.smoke_via == SERVICE else "CANDIDATE_URL")
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "kustomization.yaml").write_text(yaml.safe_dump(step.kustomization, sort_keys=False))
    _kubectl(kubectl, "apply", "-k", str(out))
    for rollout in step.rollouts:
        _kubectl(kubectl, "rollout", "status", rollout, f"--timeout={timeout_s}s")
    for leftover in step.prune:
        _kubectl(kubectl, "delete", leftover, "--ignore-not-found")
    if step.smoke_via is None or url is None:
        return "no smoke test"
    try:
        answer = smoke(bundle, url=url, version=step.smoke_version)
    except RuntimeError as err:
        raise StepFailed(str(err)) from err
    return f"{step.smoke_via} ({url}) answered from {answer['model_version']}"
