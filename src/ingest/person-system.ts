// The national person id's identifier system in FHIR exports (./fhir.ts), in a module of its own so
// that `mosaik ingest` can name it in its help without loading the FHIR reader.

/** The Danish CPR number's identifier system in HL7 Denmark's DK Core (Patient.identifier.system). */
export const DEFAULT_PERSON_SYSTEM = 'urn:oid:1.2.208.176.1.2';
