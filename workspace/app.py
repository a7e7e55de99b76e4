"""The workspace's web application (Starlette, server-rendered Jinja2 pages, in French).

Served on a Unix socket behind the sign-on gateway (``gateway.py --application workspace``),
which is its only client and states who is signed on (lakehouse.web_identity). Every request
is checked again here: identity present, ``Host`` = the public address, reading groups; every
POST: ``Origin`` and the CSRF token of the form; a decision: the deciding groups and the second
factor (agents, who sign on with a password alone, upload their files: workspace.upload). A
decision goes through governance.decisions (the functions ``hyperviseur govern`` calls) with
the signed-on identity, audited before it is recorded; its consequences follow in the same
request (governance.consequences: levels, serving catalogs, open data; an agent's upload it
validates is published: workspace.depot_publish).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from governance import consequences, decisions
from governance.levels import LEVEL_LABELS_FR
from lakehouse.errors import LakehouseError
from lakehouse.registry import LEVELS
from lakehouse.web_identity import CSRF_REFUSAL, CsrfTokens, Identity, identity_from_headers, request_refusal
from workspace import depot_publish as depots
from workspace import upload as uploads
from workspace.catalog import KIND_LABELS, ZONE_LABELS, Catalog
from workspace.evidence import masked_samples
from workspace.lineage_svg import render_svg
from workspace.upload import AGENT_PREFIX

HERE = Path(__file__).parent
# Who may decide (the review queue and its forms): the second factor is required to decide.
DECIDING_GROUPS = ("Steward", "Admin")
# Who may read the catalog: the deciders, analysts and every service's agents (Agent_<service>).
READING_GROUPS = (*DECIDING_GROUPS, "Analyst")
INTERFACE = "espace de travail"
UPLOAD_FIELDS = 4  # the upload form: its file and the CSRF token (some slack, never more)


def can_read(who: Identity) -> bool:
    return who.in_any(READING_GROUPS) or any(g.startswith(AGENT_PREFIX) for g in who.groups)


def can_decide(who: Identity) -> bool:
    return who.in_any(DECIDING_GROUPS)


def date_fr(iso: str | None) -> str:
    """``2026-03-01T08:30:00+00:00`` → ``01/03/2026 08:30 UTC`` (as stored: UTC); other text unchanged."""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%d/%m/%Y %H:%M UTC") if iso else ""
    except (TypeError, ValueError):
        return str(iso)


def create_app(lh, public_host: str, portal: str | None = None, superset=None) -> Starlette:
    """The application for the lakehouse ``lh``, published by the gateway at ``http://public_host``.

    ``superset``: a callable giving the platform's Superset (:class:`superset.service.Instance`)
    or None, asked at each decision that publishes an agent's upload (workspace.depot_publish)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = True  # *.html.j2 is not among select_autoescape()'s suffixes: escape every page
    templates.env.globals.update(labels=LEVEL_LABELS_FR, zones=ZONE_LABELS, kinds=KIND_LABELS, levels=LEVELS)
    templates.env.filters["date_fr"] = date_fr
    csrf = CsrfTokens()
    limit = lh.settings.limits.max_http_body_bytes
    upload_limit = lh.settings.limits.max_upload_bytes
    origin = f"http://{public_host}"
    logout = f"{portal.rstrip('/')}/?logout=1" if portal else None

    def refuse(status: int, reason: str) -> Response:
        return PlainTextResponse(f"Requête refusée : {reason}\n", status, headers={"Cache-Control": "no-store"})

    def render(request: Request, who: Identity, name: str, status: int = 200, **context) -> Response:
        context.update(who=who, csrf=csrf.token(who), logout=logout, can_decide=can_decide(who))
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.headers.update({"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
        return response

    def page(*, decide: bool = False, upload: bool = False):
        """Endpoint decorator: identity, Host, Origin, groups; for POST the form, CSRF and second factor.
        The page itself (``fn``, synchronous: lake reads, DuckDB, Presidio) runs in the thread pool.
        ``upload``: the POST is a multipart form holding one file, up to ``max_upload_bytes``
        (other POSTs: URL-encoded forms up to ``max_http_body_bytes``); ``fn`` gets its fields as
        lists, the file as a Starlette ``UploadFile`` (spooled to a temporary file, closed after)."""

        def wrap(fn):
            async def endpoint(request: Request) -> Response:
                who = identity_from_headers(request.headers)
                if who is None:
                    return refuse(
                        401, "identité absente : l'espace s'ouvre par la passerelle d'authentification unique"
                    )
                refusal = request_refusal(request.method, request.headers, public_host)
                if refusal:
                    return refuse(*refusal)
                if not (can_decide(who) if decide else can_read(who)):
                    return render(request, who, "forbidden.html.j2", 403, decide=decide)
                if request.method != "POST":
                    return await run_in_threadpool(fn, request, who)
                length = request.headers.get("Content-Length") or ""
                if not length.isdigit():
                    return refuse(411, "corps sans longueur (Content-Length) non accepté")
                multipart = request.headers.get("Content-Type", "").startswith("multipart/form-data")
                if multipart != upload:
                    return refuse(415, "type de corps inattendu pour ce formulaire")
                most, setting = (upload_limit, "max_upload_bytes") if upload else (limit, "max_http_body_bytes")
                if int(length) > most:
                    return refuse(413, f"corps de {length} octets au-delà de {setting} = {most}")
                if upload:
                    try:
                        parsed = await request.form(max_files=1, max_fields=UPLOAD_FIELDS)
                    except HTTPException as exc:  # malformed multipart, too many parts
                        return refuse(400, f"formulaire illisible ({exc.detail})")
                    form = {k: parsed.getlist(k) for k in parsed}
                else:
                    parsed = None
                    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
                try:
                    token = (form.get("csrf") or [""])[0]
                    if not csrf.valid(who, token if isinstance(token, str) else ""):
                        return refuse(403, CSRF_REFUSAL)
                    if decide and not who.second_factor:  # decisions; an agent's upload needs the password alone
                        back = base64.b64encode(f"{origin}{request.url.path.rsplit('/', 1)[0]}".encode()).decode()
                        return render(request, who, "second_factor.html.j2", 403, portal=portal, back=back)
                    return await run_in_threadpool(fn, request, who, form)
                finally:
                    if parsed is not None:
                        await parsed.close()

            return endpoint

        return wrap

    def first(form: dict, key: str) -> str:
        return (form.get(key) or [""])[0].strip()

    @page()
    def home(request, who):
        return RedirectResponse("/catalogue", 303)

    @page()
    def stylesheet(request, who):
        css = (HERE / "static" / "workspace.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css", headers={"Cache-Control": "no-store"})

    @page()
    def catalog_page(request, who):
        query = request.query_params.get("q", "")[:200]
        results = Catalog(lh).search(query)
        return render(request, who, "catalog.html.j2", query=query, results=results)

    @page()
    def dataset_page(request, who):
        cat = Catalog(lh)
        try:
            view = cat.get(request.path_params["name"])
        except LakehouseError as exc:
            return render(request, who, "error.html.j2", 404, message=str(exc))
        svg = render_svg(view.name, cat.lineage.parents, cat.children(), lambda n: f"/jeux/{quote(n)}")
        samples = _samples(view, cat) if can_decide(who) else {}
        return render(request, who, "dataset.html.j2", d=view, svg=svg, samples=samples, review=False)

    def _samples(view, cat) -> dict:
        entry = cat.entries.get(view.name)
        try:
            return masked_samples(lh, view.name, view.state.columns, entry.encrypted_columns if entry else ())
        except LakehouseError:
            return {}  # not in the lake (a dbt source never loaded): no sample to show

    @page(decide=True)
    def review_queue(request, who):
        return render(request, who, "review_queue.html.j2", queue=Catalog(lh).review_queue())

    def show_review(request, who, message: str | None = None, status: int = 200):
        """The proposal page of one dataset: evidence, masked samples, decision forms."""
        cat = Catalog(lh)
        try:
            view = cat.get(request.path_params["name"])
        except LakehouseError as exc:
            return render(request, who, "error.html.j2", 404, message=str(exc))
        done = view.state.decisions[-1] if request.query_params.get("fait") and view.state.decisions else None
        upload = depots.is_upload(view.name)
        return render(
            request,
            who,
            "review.html.j2",
            status,
            d=view,
            samples=_samples(view, cat),
            done=done,
            error=message,
            review=True,
            upload=upload,
            to_validate=upload and depots.awaiting_validation(view.state),
            publication=depots.publication_of(lh, view.name) if upload else None,
        )

    review_page = page(decide=True)(show_review)

    def decision_endpoint(action):
        @page(decide=True)
        def endpoint(request, who, form):
            name = request.path_params["name"]
            if name not in Catalog(lh).names():  # no decision file for a dataset nobody knows
                return render(request, who, "error.html.j2", 404, message=f"jeu de données inconnu : « {name} »")
            identity = {**who.to_dict(), "interface": INTERFACE}
            try:
                action(name, form, identity, who.subject)
            except LakehouseError as exc:  # e.g. a reason missing: the page again, with the message
                return show_review(request, who, str(exc), 400)
            try:  # the consequences at once: an upload it validates is published, levels and serving follow
                if depots.after_decision(lh, name, identity, superset) is None:
                    consequences.apply(lh, name, who.subject)
            except LakehouseError as exc:
                return show_review(request, who, f"décision enregistrée, mais ses conséquences ont échoué : {exc}", 500)
            # the page then shows the last recorded decision (read back from the file, not from the URL)
            return RedirectResponse(f"/revue/{quote(name)}?fait=1#resultat", 303)

        return endpoint

    def accept(name, form, identity, by):
        decisions.accept(lh, name, form.get("colonne") or [], by, first(form, "motif"), identity=identity)

    def override(name, form, identity, by):
        tags = [t.strip() for t in first(form, "etiquettes").split(",") if t.strip()]
        decisions.override(lh, name, first(form, "colonne"), tags, by, first(form, "motif"), identity=identity)

    def declassify(name, form, identity, by):
        decisions.declassify(lh, name, first(form, "niveau"), by, first(form, "motif"), identity=identity)

    def publication(name, form, identity, by):
        approve = first(form, "decision") == "approuver"
        decisions.publication(lh, name, approve, by, first(form, "motif"), identity=identity)

    # -- bring your own data (workspace.upload: one code path with ``hyperviseur ingest fichiers``) --
    def show_depot(request, who, message: str | None = None, status: int = 200):
        return render(
            request,
            who,
            "depot.html.j2",
            status,
            formats=uploads.FORMATS,
            services=uploads.services(who),
            max_bytes=upload_limit,
            error=message,
        )

    depot_page = page()(show_depot)

    @page(upload=True)
    def depot_upload(request, who, form):
        files = [f for f in form.get("fichier") or [] if not isinstance(f, str)]
        if not files:
            return show_depot(request, who, "aucun fichier choisi", 400)
        try:
            staged = uploads.stage(lh, who, files[0].filename, files[0].file)
        except uploads.UploadRefused as exc:
            return show_depot(request, who, str(exc), 400)
        return RedirectResponse(f"/depot/{staged.token}", 303)

    def show_proposal(request, who, message: str | None = None, status: int = 200, chosen: dict | None = None):
        try:
            staged = uploads.load(lh, who, request.path_params["token"])
        except uploads.UploadRefused as exc:
            return render(request, who, "error.html.j2", 404, message=str(exc))
        chosen = chosen or {}
        return render(
            request,
            who,
            "depot_schema.html.j2",
            status,
            staged=staged,
            examples=uploads.examples(lh, staged),
            types=uploads.TYPES,
            read_formats=uploads.READ_FORMATS,
            services=uploads.services(who),
            dataset_name=chosen.get("nom") or uploads.suggested_name(staged.filename),
            service=chosen.get("service"),
            chosen_types=chosen.get("types", {}),
            error=message,
        )

    proposal_page = page()(show_proposal)

    @page()
    def depot_confirm(request, who, form):
        token = request.path_params["token"]
        types = {k.removeprefix("type-"): first(form, k) for k in form if k.startswith("type-")}
        chosen = {"nom": first(form, "nom"), "service": first(form, "service"), "types": types}
        try:
            outcome = uploads.confirm(lh, who, token, chosen["nom"], chosen["service"], types, INTERFACE)
        except uploads.UploadRefused as exc:
            return show_proposal(request, who, str(exc), 400, chosen)
        return render(request, who, "depot_result.html.j2", outcome=outcome)

    routes = [
        Route("/", home),
        Route("/workspace.css", stylesheet),
        Route("/catalogue", catalog_page),
        Route("/jeux/{name}", dataset_page),
        Route("/revue", review_queue),
        Route("/revue/{name}", review_page),
        Route("/revue/{name}/accepter", decision_endpoint(accept), methods=["POST"]),
        Route("/revue/{name}/etiquettes", decision_endpoint(override), methods=["POST"]),
        Route("/revue/{name}/declasser", decision_endpoint(declassify), methods=["POST"]),
        Route("/revue/{name}/publication", decision_endpoint(publication), methods=["POST"]),
        Route("/depot", depot_page),
        Route("/depot", depot_upload, methods=["POST"]),
        Route("/depot/{token}", proposal_page),
        Route("/depot/{token}", depot_confirm, methods=["POST"]),
    ]
    return Starlette(routes=routes)
