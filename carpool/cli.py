"""The ``carpool`` command group.

Imports are lazy on purpose: ``carpool match-file`` and ``carpool sms parse``
must start in a fraction of a second without loading Flask or the ORM.
Every failure a person can fix ends in one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from carpool.config import Settings
    from carpool.db import Database
    from carpool.field_encryption import SecretBox

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(func: F) -> F:
    """Turn the errors people can act on into one line and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from carpool.errors import InvalidInput, StartupError
        from carpool.gazetteer import GazetteerError

        try:
            return func(*args, **kwargs)
        except (StartupError, GazetteerError) as exc:
            click.echo(f"erreur : {exc}", err=True)
            sys.exit(1)
        except InvalidInput as exc:
            # Form messages are sentences ("Ce numéro…"); after "erreur :" they go on in lower case.
            reasons = (m[:1].lower() + m[1:].rstrip(".") for m in exc.errors.values())
            click.echo(f"erreur : {' ; '.join(reasons)}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def read_settings() -> Settings:
    """Every setting, checked now: a bad value stops the command before it does anything."""
    from carpool.config import Settings

    return Settings.from_env()


@contextmanager
def open_database(create_extension: bool = False, settings: Settings | None = None) -> Iterator[Database]:
    """The configured database, checked; ``create_extension`` first enables PostGIS if it can."""
    from carpool import migrate
    from carpool.config import default_database_url
    from carpool.db import Database, check_database

    settings = settings or read_settings()
    database = Database(settings.database_url or default_database_url(settings.instance_path()))
    try:
        if create_extension:
            migrate.prepare(database.engine)
        check_database(database.engine)
        yield database
    finally:
        database.dispose()


def secret_box(settings: Settings) -> SecretBox:
    """The web app's box: the same SECRET_KEY (generated one included) and FIELD_ENCRYPTION_KEYS."""
    from carpool.config import load_config
    from carpool.field_encryption import SecretBox

    return SecretBox.from_config(load_config(settings.instance_path(), settings))


def seal_second_factors(database: Database, settings: Settings) -> None:
    """After the migrations: second-factor keys still in clear (or under an older key) get sealed,
    only with the web app's own key (never one this command would generate for itself)."""
    from carpool.config import has_known_secret_key
    from carpool.services import accounts

    with database.session() as session:
        if not accounts.has_second_factors(session):
            return
        if not has_known_secret_key(settings, settings.instance_path()):
            click.echo("SECRET_KEY non défini : clés de second facteur laissées telles quelles")
            return
        report = accounts.seal_totp_secrets(session, secret_box(settings))
    if report.sealed:
        click.echo(f"clés de second facteur chiffrées : {report.sealed}")
    for email in report.unreadable:
        click.echo(
            f"second facteur illisible pour {email} (clé changée) : carpool accounts reset-2fa {email}",
            err=True,
        )
    if report.unreadable:
        click.echo(
            "aucune clé de second facteur chiffrée : SECRET_KEY et FIELD_ENCRYPTION_KEYS "
            "doivent être ceux du site",
            err=True,
        )


@click.group()
def main() -> None:
    """Covoiturage solidaire : administration en ligne de commande."""


# --- database ----------------------------------------------------------------


@main.group()
def db() -> None:
    """Schéma de la base (migrations Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@one_line_errors
def db_upgrade(revision: str) -> None:
    """Crée ou met à jour le schéma."""
    from carpool import migrate

    settings = read_settings()
    with open_database(create_extension=True, settings=settings) as database:
        migrate.upgrade(database.engine, revision)
        click.echo(f"schéma à jour ({migrate.current_revision(database.engine)})")
        if revision == "head":
            seal_second_factors(database, settings)


@db.command("downgrade")
@click.argument("revision")
@one_line_errors
def db_downgrade(revision: str) -> None:
    """Revient à une révision antérieure (base pour tout effacer)."""
    from carpool import migrate

    with open_database() as database:
        migrate.downgrade(database.engine, revision)
        click.echo(f"schéma à la révision {migrate.current_revision(database.engine) or 'vide'}")


@db.command("current")
@one_line_errors
def db_current() -> None:
    """Affiche la révision du schéma et celle attendue par le code."""
    from carpool import migrate

    with open_database() as database:
        current = migrate.current_revision(database.engine)
    head = migrate.head_revision()
    state = "à jour" if current == head else "à mettre à jour : carpool db upgrade"
    click.echo(f"base : {current or 'vide'} ; code : {head} ({state})")


# --- data --------------------------------------------------------------------


@main.command("import-communes")
@click.option("--file", "communes_file", type=click.Path(path_type=Path), help="communes.csv à importer")
@click.option("--departements", help="codes des départements, séparés par des virgules (ex. 23,87)")
@click.option("--all", "everything", is_flag=True, help="toutes les communes de France")
@one_line_errors
def import_communes(communes_file: Path | None, departements: str | None, everything: bool) -> None:
    """Importe (ou met à jour) le référentiel des communes et des lieux nommés.

    Sans option : les communes de la démonstration (Lot, Val-d'Oise).
    """
    from carpool.errors import InvalidInput
    from carpool.gazetteer import COMMUNES_CSV
    from carpool.services import gazetteer

    if sum(x is not None and x is not False for x in (communes_file, departements, everything)) > 1:
        click.echo("erreur : choisissez une seule option parmi --file, --departements et --all", err=True)
        sys.exit(1)
    try:
        if departements is not None:
            gazetteer.departement_codes(departements.split(","))  # checked before opening the database
    except InvalidInput as exc:
        click.echo(f"erreur : {' ; '.join(exc.errors.values())}", err=True)
        sys.exit(1)
    with open_database() as database, database.session() as session:
        if departements is not None:
            report = gazetteer.import_departements(session, departements.split(","))
        elif everything:
            report = gazetteer.import_all(session)
        else:
            report = gazetteer.import_communes(session, communes_file or COMMUNES_CSV)
    click.echo(
        f"communes : {report.created} ajoutées, {report.updated} mises à jour, "
        f"{report.unchanged} inchangées ; lieux nommés : {report.places_created} ajoutés"
    )


@main.group()
def association() -> None:
    """Les associations servies par cette instance."""


@association.command("create")
@click.argument("name")
@click.option("--departements", required=True, help="départements servis, ex. : 23,87")
@click.option("--sms-number", required=True, help="le numéro de portable qui reçoit les SMS des habitants")
@click.option("--admin-email", default=None, help="première personne administratrice (reçoit un lien)")
@one_line_errors
def association_create(name: str, departements: str, sms_number: str, admin_email: str | None) -> None:
    """Crée une association, importe les communes de ses départements et son premier compte."""
    from carpool.clock import clock_for
    from carpool.services import associations

    settings = read_settings()
    codes = associations.parse_departements(departements)
    with open_database(settings=settings) as database, database.session() as session:
        created = associations.create_association(
            session, name, codes, sms_number, clock_for(settings), admin_email=admin_email
        )
        association_id = created.association.id
    click.echo(
        f"association n° {association_id} créée : « {created.association.name} », "
        f"SMS au {created.association.sms_number}, départements {', '.join(codes)}"
    )
    click.echo(f"communes : {created.communes.created} ajoutées, {created.communes.unchanged} déjà présentes")
    if created.admin is None or created.password_secret is None:
        click.echo(f"aucun compte : carpool association admin {association_id} ADRESSE pour le premier")
        return
    _echo_admin_link(settings, created.admin.email, created.password_secret)


@association.command("admin")
@click.argument("association_id", type=int)
@click.argument("email")
@one_line_errors
def association_admin(association_id: int, email: str) -> None:
    """Crée l'administratrice ou l'administrateur (ou un nouveau lien s'il a expiré)."""
    from carpool.clock import clock_for
    from carpool.services import associations

    settings = read_settings()
    with open_database(settings=settings) as database, database.session() as session:
        admin, secret = associations.admin_link(session, association_id, email, clock_for(settings))
        address = admin.email
    _echo_admin_link(settings, address, secret)


@main.group("accounts")
def accounts_group() -> None:
    """Les comptes de connexion (coordination, conducteurs)."""


@accounts_group.command("reset-2fa")
@click.argument("email")
@one_line_errors
def accounts_reset_2fa(email: str) -> None:
    """Oublie le second facteur d'un compte (clé perdue ou illisible) : il s'enregistre à nouveau."""
    from carpool.services import accounts

    with open_database() as database, database.session() as session:
        user = accounts.reset_second_factor(session, email)
        address = user.email
    click.echo(f"second facteur de {address} effacé : un nouveau sera enregistré à la prochaine connexion")


def _echo_admin_link(settings: Settings, email: str, secret: str) -> None:
    from carpool.services.associations import FIRST_PASSWORD_TTL

    link = f"{settings.public_base_url.rstrip('/')}/conducteurs/mot-de-passe/{secret}"
    click.echo(f"administratrice ou administrateur : {email}")
    click.echo(
        f"  choisir son mot de passe (lien valable {FIRST_PASSWORD_TTL.days} jours, une seule fois) : {link}"
    )
    click.echo("  puis se connecter sur /coordination/connexion et enregistrer son second facteur")


@main.command("seed-demo")
@click.option("--seed", default=46, show_default=True, help="graine du générateur (données reproductibles)")
@click.option(
    "--scale",
    default=1,
    show_default=True,
    type=click.IntRange(1, 100),
    help="multiplie personnes et trajets",
)
@one_line_errors
def seed_demo(seed: int, scale: int) -> None:
    """Crée deux associations de démonstration : le Lot (rural) et Argenteuil – Cergy (urbain)."""
    from carpool.services import demo

    settings = read_settings()
    with open_database(settings=settings) as database, database.session() as session:
        report = demo.seed_demo(session, secret_box(settings), seed=seed, scale=scale)
    if report.already_seeded:
        click.echo("données de démonstration déjà présentes : rien n'a été ajouté")
    else:
        click.echo(
            f"démo créée : {report.drivers} conducteurs, {report.residents} habitants, "
            f"{report.offers} trajets proposés, {report.requests} demandes"
        )
    for email, role in demo.DEMO_LOGINS:
        click.echo(f"  connexion {role} : {email} / mot de passe {demo.DEMO_PASSWORD}")
    click.echo(f"  second facteur de {demo.DEMO_LOGINS[0][0]} : clé TOTP {demo.DEMO_TOTP_SECRET}")


@main.command("setup")
@click.option(
    "--demo/--no-demo",
    default=True,
    help="données de démonstration au premier lancement (base sans association)",
)
@one_line_errors
def setup(demo: bool) -> None:
    """Tout préparer en une fois : schéma, communes, démo au premier lancement."""
    from carpool import migrate
    from carpool.gazetteer import COMMUNES_CSV
    from carpool.services import demo as demo_service
    from carpool.services import gazetteer

    settings = read_settings()
    with open_database(create_extension=True, settings=settings) as database:
        migrate.upgrade(database.engine)
        seal_second_factors(database, settings)
        with database.session() as session:
            gazetteer.import_communes(session, COMMUNES_CSV)
        if demo:
            with database.session() as session:
                first_run = demo_service.is_empty(session)
                report = demo_service.seed_demo(session, secret_box(settings)) if first_run else None
            if report is not None:
                click.echo("données de démonstration créées ; connexions :")
                for email, role in demo_service.DEMO_LOGINS:
                    click.echo(f"  {role} : {email} / {demo_service.DEMO_PASSWORD}")
                email = demo_service.DEMO_LOGINS[0][0]
                click.echo(f"  second facteur de {email} : clé TOTP {demo_service.DEMO_TOTP_SECRET}")
    click.echo("base prête")


@main.command("retention")
@click.option("--dry-run", is_flag=True, help="compter sans rien effacer")
@one_line_errors
def retention(dry_run: bool) -> None:
    """Efface les textes des SMS plus anciens que la durée de conservation de l'association."""
    from carpool.clock import Clock
    from carpool.services.retention import purge_sms_bodies

    with open_database() as database, database.session() as session:
        click.echo(str(purge_sms_bodies(session, Clock().now(), dry_run=dry_run)))


# --- serving -----------------------------------------------------------------


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@one_line_errors
def serve(host: str, port: int) -> None:
    """Sert l'application en local (développement)."""
    from carpool import create_app

    app = create_app()
    app.run(host=host, port=port)


# --- matching ----------------------------------------------------------------


@main.command("match-file")
@click.argument("input_file", metavar="INPUT.json")
@click.option("-o", "--output", "output_file", metavar="OUTPUT.json", help="sortie (défaut : stdout)")
def match_file(input_file: str, output_file: str | None) -> None:
    """Apparie offres et demandes d'un fichier JSON, sans base de données."""
    from carpool.matching.fileio import main_match_file

    sys.exit(main_match_file(input_file, output_file))


@main.group()
def bench() -> None:
    """Mesures de performance."""


@bench.command("matching")
@click.option("--size", type=click.Choice(["S", "M", "L", "XL"]), default="S", show_default=True)
@click.option("--seed", default=0, show_default=True)
def bench_matching(size: str, seed: int) -> None:
    """Mesure l'index, la requête unitaire et l'affectation sur données synthétiques du Lot."""
    from carpool.matching.bench import run

    click.echo(run(size, seed))


# --- SMS -----------------------------------------------------------------------


@main.group()
def sms() -> None:
    """Outils du canal SMS."""


@sms.command("parse")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="date de référence")
@click.option("--home", "home_insee", default=None, help="code INSEE du domicile")
def sms_parse(today: Any, home_insee: str | None) -> None:
    """Lit un SMS par ligne sur stdin, écrit une ligne JSON par message."""
    from carpool.notify.parse_cli import main as parse_main

    day: date = today.date()
    sys.exit(parse_main(sys.stdin, sys.stdout, day, home_insee))


# --- SMS sending -----------------------------------------------------------------


@main.command("dispatch")
@click.option("--once", is_flag=True, help="un seul passage (jusqu'à SMS_BATCH messages) puis sortie")
@one_line_errors
def dispatch(once: bool) -> None:
    """Envoie les SMS en attente ; plusieurs processus peuvent tourner ensemble (SIGTERM : arrêt propre)."""
    import logging
    import signal
    import threading

    from carpool.clock import Clock
    from carpool.config import load_config
    from carpool.notify import privacy
    from carpool.notify.backends import backend_from_config
    from carpool.notify.dispatcher import DispatchSettings, dispatch_once, run_forever

    settings = read_settings()
    config = load_config(settings.instance_path(), settings)
    logging.basicConfig(level=config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    privacy.install()
    backend = backend_from_config(config)
    sending = DispatchSettings.from_config(config, backend)
    with open_database(settings=settings) as database:
        if once:
            report = dispatch_once(
                database,
                backend,
                Clock(),
                batch=sending.batch,
                lease_seconds=sending.lease_seconds,
                public_base_url=sending.public_base_url,
                call_limits=sending.call_limits,
            )
            click.echo(
                f"SMS : {report.sent} envoyés, {report.reconciled} retrouvés chez le fournisseur, "
                f"{report.retried} à réessayer, {report.failed} en échec"
            )
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        run_forever(
            database,
            backend,
            Clock(),
            stop,
            sending.poll_seconds,
            batch=sending.batch,
            lease_seconds=sending.lease_seconds,
            public_base_url=sending.public_base_url,
            call_limits=sending.call_limits,
        )


# --- scheduled jobs ----------------------------------------------------------------


@main.command("scheduler")
@click.option("--once", is_flag=True, help="exécuter chaque tâche une fois puis sortir (cron, tests)")
@click.option("--wait", is_flag=True, help="si un autre planificateur est actif, attendre qu'il s'arrête")
@one_line_errors
def scheduler(once: bool, wait: bool) -> None:
    """Le processus horloge : rappels, expirations, fin de trajet, envoi des SMS, conservation.

    Un seul planificateur agit à la fois sur une base ; un second s'arrête avec
    un message (code 1), ou attend avec --wait.
    """
    import logging
    import signal
    import threading

    from carpool import scheduler as clock_process
    from carpool.clock import clock_for
    from carpool.notify import privacy

    settings = read_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    privacy.install()
    dispatcher = clock_process.Dispatcher(settings) if settings.scheduler_dispatch_seconds else None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with open_database(settings=settings) as database:
        leader = clock_process.lead(database, settings, wait=wait, stop=stop)
        if leader is None:
            return  # SIGTERM while waiting for the lead
        try:
            if once:
                outcomes = clock_process.run_once(database, clock_for(settings), leader, settings, dispatcher)
                for outcome in outcomes:
                    click.echo(f"{outcome.name} : {outcome.result}" + ("" if outcome.ok else " (ÉCHEC)"))
                code = 0 if all(o.ok for o in outcomes) else 1
            else:
                code = clock_process.run_forever(
                    database, clock_for(settings), leader, settings, dispatcher, stop
                )
        finally:
            leader.release()
    if code:
        click.echo("erreur : le planificateur a perdu la main ou une tâche a échoué", err=True)
        sys.exit(code)


@main.group("jobs", invoke_without_command=True)
@click.pass_context
@one_line_errors
def jobs_group(ctx: click.Context) -> None:
    """Les tâches planifiées : prochaine exécution et dernier résultat."""
    if ctx.invoked_subcommand is not None:
        return
    from carpool import jobs
    from carpool.clock import PARIS, clock_for
    from carpool.leader import current_leader
    from carpool.scheduler import next_runs

    settings = read_settings()
    upcoming = next_runs(settings, clock_for(settings).now())
    with open_database(settings=settings) as database:
        with database.session() as session:
            last = jobs.last_runs(session)
        leader = current_leader(database)
    click.echo(f"planificateur actif : {leader or 'aucun'}")
    for name, when in upcoming.items():
        run = last.get(name)
        if run is None:
            done = "jamais exécutée"
        else:
            state = "ok" if run.ok else "ÉCHEC"
            done = f"{run.started_at.astimezone(PARIS):%d/%m %H:%M:%S} {state} : {run.result}"
        click.echo(f"{name:<17} prochaine : {when:<17} dernière : {done}")


@jobs_group.command("run")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="tout annuler à la fin et seulement afficher le compte rendu")
@one_line_errors
def jobs_run(name: str, dry_run: bool) -> None:
    """Exécute une tâche maintenant (ex. : carpool jobs run retention --dry-run)."""
    from carpool import jobs
    from carpool.clock import clock_for
    from carpool.errors import StartupError

    if name not in jobs.JOBS:
        raise StartupError(f"tâche inconnue « {name} » : {', '.join(jobs.JOBS)}")
    settings = read_settings()
    with open_database(settings=settings) as database:
        outcome = jobs.run_job(database, name, clock_for(settings), settings=settings, dry_run=dry_run)
    prefix = "simulation (rien n'est modifié) — " if dry_run else ""
    click.echo(f"{prefix}{name} : {outcome.result}")
    if not outcome.ok:
        sys.exit(1)


# --- reports -------------------------------------------------------------------------------


@main.group()
def report() -> None:
    """Rapports réglementaires."""


@report.command("tus")
@click.option("--year", "year_text", required=True, metavar="AAAA", help="année civile du rapport")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--association", "association_name", default=None, help="nom ou numéro (s'il y en a plusieurs)")
@one_line_errors
def report_tus(year_text: str, fmt: str, association_name: str | None) -> None:
    """Rapport annuel du transport d'utilité sociale (arrêté du 17 octobre 2019), pour le préfet."""
    import json

    from carpool.clock import PARIS, Clock
    from carpool.errors import InvalidInput
    from carpool.services import tus_report

    with open_database() as database, database.session() as session:
        try:
            association = _one_association(session, association_name)
            today = Clock().now().astimezone(PARIS).date()
            year = tus_report.checked_year(year_text, association, today)
        except InvalidInput as error:
            click.echo(f"erreur : {' '.join(error.errors.values())}", err=True)
            sys.exit(1)
        built = tus_report.build(session, association, year, today=today)
        if fmt == "csv":
            click.echo(tus_report.to_csv(built, with_purpose=True), nl=False)
        else:
            click.echo(json.dumps(built.as_json(), ensure_ascii=False, indent=2))


def _one_association(session: Any, name: str | None) -> Any:
    """The association named (or numbered), or the only one; InvalidInput otherwise."""
    import sqlalchemy as sa

    from carpool.errors import InvalidInput
    from carpool.models import Association

    query = sa.select(Association)
    if name is not None:
        query = query.where(
            sa.or_(Association.name == name, Association.id == (int(name) if name.isdigit() else -1))
        )
    found = list(session.scalars(query.limit(2)))
    if not found:
        raise InvalidInput.on(
            "association", f"aucune association « {name} »." if name else "aucune association."
        )
    if len(found) > 1:
        raise InvalidInput.on("association", "plusieurs associations : précisez --association NOM.")
    return found[0]
