// placeholder until the transform branch merges
export class SubjectTransform {
  static compile(_src: string, _dest: string): SubjectTransform {
    return new SubjectTransform();
  }
  apply(_subject: string): string | null {
    return null;
  }
}
